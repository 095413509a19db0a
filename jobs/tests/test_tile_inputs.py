"""Uploaded tile inputs: the .npz format and its refusals (400 naming the field, nothing written),
the API (organization scope, roles, in-use deletes), and tile jobs that read an upload instead of
synthesizing: statistics equal a direct NumPy computation on the same arrays."""

import io
import struct
import zipfile

import numpy as np
import pytest

from jobs.exceptions import JobParamsError
from jobs.models import Job, JobArtifact, JobLog, JobState, TileInput
from jobs.workloads import npz, tile
from missionops.models import Event

from .conftest import SQUARE

URL = "/api/v1/tile-inputs/"
JOBS = "/api/v1/jobs/"


def npz_bytes(compressed: bool = False, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def scene(height=70, width=50, seed=1) -> dict[str, np.ndarray]:
    """uint16 surface reflectance (scale 10000): vegetation, bare soil and a bright flat cloud."""
    rng = np.random.default_rng(seed)
    red = rng.uniform(0.02, 0.3, (height, width))
    nir = rng.uniform(0.05, 0.6, (height, width))
    blue = rng.uniform(0.01, 0.2, (height, width))
    green = rng.uniform(0.02, 0.25, (height, width))
    cloud = (slice(10, 25), slice(5, 30))
    for band in (red, nir, blue, green):
        band[cloud] = 0.7 + rng.uniform(0, 0.05, band[cloud].shape)
    reflectance = dict(zip(tile.BANDS, (blue, green, red, nir), strict=True))
    return {name: np.round(band * 10000).astype(np.uint16) for name, band in reflectance.items()}


def expected_stats(bands: dict[str, np.ndarray], scale: float, threshold: float = 0.3) -> dict:
    """NDVI and the cloud mask computed directly, without the pipeline."""
    b = {name: bands[name].astype(np.float64) / scale for name in tile.BANDS}
    ndvi = (b["nir"] - b["red"]) / np.maximum(b["nir"] + b["red"], 1e-6)
    cloud = (b["blue"] > threshold) & (np.abs(b["nir"] - b["red"]) < 0.2)
    clear = ndvi[~cloud]
    return {
        "pixels": ndvi.size,
        "cloud_fraction": cloud.mean(),
        "clear_pixels": clear.size,
        "ndvi_mean": clear.mean(),
        "ndvi_std": clear.std(),
        "ndvi_min": clear.min(),
        "ndvi_max": clear.max(),
        "ndvi_p10": np.percentile(clear, 10),
        "ndvi_p50": np.percentile(clear, 50),
        "ndvi_p90": np.percentile(clear, 90),
        "vegetation_fraction": (clear > 0.3).mean(),
        "ndvi_histogram": np.histogram(clear, bins=20, range=(-1, 1))[0].tolist(),
    }


def assert_stats_match(stats: dict, expected: dict):
    for key, value in expected.items():
        if key in ("pixels", "clear_pixels", "ndvi_histogram"):
            assert stats[key] == value, key
        else:
            assert stats[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


def upload_file(client, data: bytes, filename="scene.npz", **fields):
    handle = io.BytesIO(data)
    handle.name = filename
    return client.post(URL, {"file": handle, **fields}, format="multipart")


# The format, without the database


@pytest.mark.parametrize("blocks", [1, 3, 8])
def test_uploaded_bands_give_the_direct_numpy_statistics(blocks):
    bands = scene()
    archive = npz.read_band_archive(npz_bytes(**bands), scale=10000)
    source = tile.UploadedBands(bands=archive.bands, scale=archive.scale)
    params = tile.validate_params({"input": 1, "blocks": blocks})
    stats, pictures = tile.process_tile(source=source, params=params)
    assert_stats_match(stats, expected_stats(bands, 10000))
    assert (stats["height_px"], stats["width_px"]) == (70, 50) and "size_px" not in stats
    assert pictures["rgb"].shape == (70, 50, 3) and pictures["ndvi"].shape == (70, 50)
    assert 0.05 < stats["cloud_fraction"] < 0.2  # the cloud patch, nothing else


def test_float_bands_need_no_scale_and_large_inputs_are_subsampled_for_the_quicklook():
    rng = np.random.default_rng(2)
    bands = {name: rng.uniform(0, 0.5, (600, 300)).astype(np.float32) for name in tile.BANDS}
    archive = npz.read_band_archive(npz_bytes(compressed=True, **bands))
    assert (archive.dtype, archive.scale, archive.height_px, archive.width_px) == ("float32", 1.0, 600, 300)
    source = tile.UploadedBands(bands=archive.bands, scale=archive.scale)
    stats, pictures = tile.process_tile(source=source, params=tile.validate_params({"input": 1}))
    assert_stats_match(stats, expected_stats(bands, 1.0))
    assert pictures["rgb"].shape == (300, 150, 3)  # every 2nd pixel: the longer side is at most 2 x 256


def test_cupy_reads_uploaded_bands_like_numpy():
    cupy = pytest.importorskip("cupy")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no CUDA device")
    bands = scene(512, 384)
    source = tile.UploadedBands(bands=bands, scale=10000.0)
    params = tile.validate_params({"input": 1})
    on_cpu, _ = tile.process_tile(source=source, params=params, xp=np)
    on_gpu, _ = tile.process_tile(source=source, params=params, xp=cupy)
    for key, value in on_cpu.items():
        if key == "ndvi_histogram":
            assert np.abs(np.array(value) - np.array(on_gpu[key])).sum() <= 0.001 * on_cpu["pixels"]
        else:
            assert on_gpu[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def _pickled_object_array() -> bytes:
    buffer = io.BytesIO()
    good = scene(4, 4)
    np.savez(buffer, **{**good, "nir": np.array([[{"x": 1}, None]], dtype=object)})
    return buffer.getvalue()


def _corrupt() -> bytes:
    data = bytearray(npz_bytes(compressed=True, **scene(64, 64)))
    data[200:260] = b"\x00" * 60  # inside the first member's deflated data
    return bytes(data)


def _flagged_huge() -> bytes:
    """A 1-byte-per-pixel band whose header claims 5000 x 5000 px: refused before inflating."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (5000, 5000)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in tile.BANDS:
            member = io.BytesIO()
            np.lib.format.write_array_header_1_0(member, header)
            archive.writestr(f"{name}.npy", member.getvalue())
    return buffer.getvalue()


GOOD = scene(8, 6)


@pytest.mark.parametrize(
    "data, scale, field, words",
    [
        (npz_bytes(**{k: v for k, v in GOOD.items() if k != "nir"}), 10000, "file", "'nir' is missing"),
        (npz_bytes(**{**GOOD, "red": GOOD["red"][:7]}), 10000, "file", "differ in shape"),
        (npz_bytes(**{**GOOD, "blue": GOOD["blue"][None]}), 10000, "file", "2-D"),
        (npz_bytes(**{name: np.zeros((1, 4097), np.uint8) for name in tile.BANDS}), 255, "file", "4096"),
        (_flagged_huge(), 255, "file", "5000x5000"),
        (npz_bytes(**{**GOOD, "red": GOOD["red"].astype(np.float64)}), None, "file", "differ in dtype"),
        (npz_bytes(**{n: np.full((4, 4), np.nan if n == "green" else 0.1) for n in tile.BANDS}), None, "file", "NaN"),
        (npz_bytes(**{n: np.full((4, 4), 1.7) for n in tile.BANDS}), None, "file", "within [0, 1.6]"),
        (npz_bytes(**{n: np.full((4, 4), 17000, np.uint16) for n in tile.BANDS}), 10000, "file", "within [0, 1.6]"),
        (npz_bytes(**{n: np.full((4, 4), -0.1) for n in tile.BANDS}), None, "file", "within [0, 1.6]"),
        (npz_bytes(**{n: np.zeros((4, 4), np.complex64) for n in tile.BANDS}), None, "file", "complex64"),
        (npz_bytes(**GOOD, swir=GOOD["red"]), 10000, "file", "'swir'"),
        (b"GIF89a not an archive", None, "file", "not a NumPy .npz"),
        (_corrupt(), 10000, "file", ""),
        (_pickled_object_array(), 10000, "file", "pickled"),
        (npz_bytes(**GOOD), None, "scale", "need a scale"),
        (npz_bytes(**GOOD), -3, "scale", "above 0"),
        (npz_bytes(**{n: np.full((4, 4), 0.2) for n in tile.BANDS}), 10000, "scale", "integer bands"),
    ],
    ids=[
        "missing-band", "shapes-differ", "not-2d", "too-large", "header-bomb", "dtypes-differ", "nan", "above-1.6",
        "int-above-scale", "negative", "complex", "extra-array", "not-npz", "corrupt-zip", "pickled-objects",
        "no-scale", "negative-scale", "scale-for-floats",
    ],
)  # fmt: skip
def test_bad_uploads_are_400s_naming_the_field_and_write_nothing(api, operator, data, scale, field, words):
    before = TileInput.objects.count(), Event.objects.count()
    fields = {} if scale is None else {"scale": scale}
    response = upload_file(api(operator), data, **fields)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field and words in response.json()["detail"], response.json()
    assert (TileInput.objects.count(), Event.objects.count()) == before


def test_upload_over_the_byte_limit_is_refused_before_reading(api, operator, settings):
    settings.JOBS_TILE_INPUT_MAX_BYTES = 1000
    response = upload_file(api(operator), npz_bytes(**scene(20, 20)), scale=10000)
    assert response.status_code == 400 and response.json()["field"] == "file" and "MiB" in response.json()["detail"]
    assert not TileInput.objects.exists()


def test_no_corruption_of_a_valid_archive_escapes_as_a_server_error():
    data = npz_bytes(compressed=True, **scene(16, 16))
    rng = np.random.default_rng(5)
    for _ in range(300):
        broken = bytearray(data)
        for at in rng.integers(0, len(data), 4):
            broken[at] = int(rng.integers(0, 256))
        try:
            npz.read_band_archive(bytes(broken), scale=10000)
        except JobParamsError as refused:
            assert refused.field in ("file", "scale")
    truncated = data[: len(data) // 2] + data[-22:]
    with pytest.raises(JobParamsError):
        npz.read_band_archive(truncated, scale=10000)


# The API


def test_operator_uploads_lists_retrieves_and_deletes(api, operator, viewer):
    client = api(operator)
    created = upload_file(client, npz_bytes(compressed=True, **scene()), filename="valley.npz", scale=10000)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "valley" and body["organization"] == "org-a" and body["created_by"] == "operator"
    assert (body["height_px"], body["width_px"], body["dtype"], body["scale"]) == (70, 50, "uint16", 10000.0)
    assert body["bands"] == list(tile.BANDS) and len(body["sha256"]) == 64 and body["size_bytes"] > 0
    assert Event.objects.filter(kind="tile_input.uploaded").count() == 1
    listed = api(viewer).get(URL).json()
    assert [item["id"] for item in listed["results"]] == [body["id"]] and "next" in listed
    assert api(viewer).get(f"{URL}{body['id']}/").json()["sha256"] == body["sha256"]
    assert client.delete(f"{URL}{body['id']}/").status_code == 204
    assert not TileInput.objects.exists() and Event.objects.filter(kind="tile_input.deleted").count() == 1


def test_viewer_may_read_but_not_upload_or_delete(api, operator, viewer):
    made = upload_file(api(operator), npz_bytes(**scene()), scale=10000).json()
    client = api(viewer)
    assert upload_file(client, npz_bytes(**scene()), scale=10000).status_code == 403
    assert client.delete(f"{URL}{made['id']}/").status_code == 403
    assert TileInput.objects.count() == 1


def test_another_organization_gets_404_and_cannot_submit_with_it(api, operator, stranger):
    made = upload_file(api(operator), npz_bytes(**scene()), scale=10000).json()
    client = api(stranger)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{made['id']}/").status_code == 404
    assert client.delete(f"{URL}{made['id']}/").status_code == 404
    refused = client.post(JOBS, {"kind": "tile", "params": {"input": made["id"]}, "footprint": SQUARE}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "params.input"
    assert upload_file(client, npz_bytes(**scene()), scale=10000, organization="org-a").status_code == 400
    assert TileInput.objects.count() == 1 and not Job.objects.exists()


@pytest.mark.parametrize(
    "params, field",
    [
        ({"input": 999999}, "params.input"),
        ({"input": "x"}, "params.input"),
        ({"input": "own", "size_px": 256}, "params.size_px"),
        ({"input": "own", "seed": 3}, "params.seed"),
    ],
)
def test_job_params_with_input_are_checked(api, operator, params, field):
    own = upload_file(api(operator), npz_bytes(**scene()), scale=10000).json()["id"]
    params = {k: own if v == "own" else v for k, v in params.items()}
    response = api(operator).post(JOBS, {"kind": "tile", "params": params, "footprint": SQUARE}, format="json")
    assert response.status_code == 400 and response.json()["field"] == field, response.json()
    batch = {"jobs": [{"kind": "noop"}, {"kind": "tile", "params": params, "footprint": SQUARE}]}
    response = api(operator).post(f"{JOBS}batch/", batch, format="json")
    assert response.status_code == 400 and response.json()["field"] == f"jobs.1.{field}"
    assert not Job.objects.exists()


def test_an_input_an_open_job_or_template_names_cannot_be_deleted(api, operator):
    client = api(operator)
    own = upload_file(client, npz_bytes(**scene()), scale=10000).json()["id"]
    job = client.post(JOBS, {"kind": "tile", "params": {"input": own}, "footprint": SQUARE}, format="json").json()
    refused = client.delete(f"{URL}{own}/")
    assert refused.status_code == 409 and f"job {job['id']}" in refused.json()["detail"]
    assert client.post(f"{JOBS}{job['id']}/cancel/", {}, format="json").status_code == 200
    template = {"name": "valley weekly", "kind": "tile", "params": {"input": own}, "footprint": SQUARE}
    assert client.post("/api/v1/job-templates/", template, format="json").status_code == 201
    refused = client.delete(f"{URL}{own}/")
    assert refused.status_code == 409 and "valley weekly" in refused.json()["detail"]
    assert TileInput.objects.filter(pk=own).exists()


def test_the_admin_keeps_an_input_in_use_and_deletes_through_the_service(api, operator, admin_client):
    client = api(operator)
    own = upload_file(client, npz_bytes(**scene()), scale=10000).json()["id"]
    spare = upload_file(client, npz_bytes(**scene(seed=2)), filename="spare.npz", scale=10000).json()["id"]
    job = client.post(JOBS, {"kind": "tile", "params": {"input": own}, "footprint": SQUARE}, format="json").json()
    page = admin_client.post(f"/admin/jobs/tileinput/{own}/delete/", {"post": "yes"})
    assert page.status_code == 200 and f"is the input of job {job['id']}" in page.content.decode()
    action = {"action": "delete_selected", "_selected_action": [own, spare], "post": "yes"}
    page = admin_client.post("/admin/jobs/tileinput/", action)
    assert page.status_code == 200 and f"is the input of job {job['id']}" in page.content.decode()
    assert TileInput.objects.filter(pk__in=[own, spare]).count() == 2  # all or nothing, as Django's protection
    assert client.post(f"{JOBS}{job['id']}/cancel/", {}, format="json").status_code == 200
    assert admin_client.post("/admin/jobs/tileinput/", action).status_code == 302
    assert not TileInput.objects.filter(pk__in=[own, spare]).exists()
    deleted = Event.objects.filter(kind="tile_input.deleted").values_list("payload__id", flat=True)
    assert sorted(deleted) == sorted([own, spare])


def test_an_input_named_after_the_admin_confirmed_is_kept_with_the_others(api, operator, admin_client, monkeypatch):
    """The race: a job names an input between the confirmation and the delete."""
    from django.contrib import admin as django_admin

    from jobs.admin import TileInputAdmin

    client = api(operator)
    own = upload_file(client, npz_bytes(**scene()), scale=10000).json()["id"]
    spare = upload_file(client, npz_bytes(**scene(seed=2)), filename="spare.npz", scale=10000).json()["id"]
    client.post(JOBS, {"kind": "tile", "params": {"input": own}, "footprint": SQUARE}, format="json")
    monkeypatch.setattr(TileInputAdmin, "get_deleted_objects", django_admin.ModelAdmin.get_deleted_objects)
    action = {"action": "delete_selected", "_selected_action": [spare, own], "post": "yes"}
    page = admin_client.post("/admin/jobs/tileinput/", action, follow=True)
    shown = [str(m) for m in page.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith("Nothing deleted: tile input") and "is the input of job" in shown[0]
    assert TileInput.objects.filter(pk__in=[own, spare]).count() == 2
    assert not Event.objects.filter(kind="tile_input.deleted").exists()


# Tile jobs on an upload, end to end


def run_one_job():
    from jobs.runner import JobWorker

    worker = JobWorker(host="tile-host", max_jobs=1, exit_when_idle_s=5, sample_s=0, sweep_s=0, heartbeat_s=0.2)
    assert worker.run() == 1


@pytest.mark.django_db(transaction=True)
def test_tile_job_on_an_upload_gives_the_direct_numpy_statistics(api, operator):
    bands = scene(90, 64, seed=4)
    client = api(operator)
    own = upload_file(client, npz_bytes(compressed=True, **bands), scale=10000).json()["id"]
    body = {"kind": "tile", "params": {"input": own, "blocks": 4}, "footprint": SQUARE}
    created = client.post(JOBS, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["params"] == {"input": own, "blocks": 4, "cloud_threshold": 0.3, "device": "auto"}
    run_one_job()
    job = Job.objects.get(pk=created.json()["id"])
    assert job.state == JobState.SUCCEEDED, job.error
    assert_stats_match(job.result, expected_stats(bands, 10000))
    assert (job.result["height_px"], job.result["width_px"], job.result["input"]) == (90, 64, own)
    assert job.result["backend"] == "numpy" and job.progress == 100
    quicklook = bytes(JobArtifact.objects.get(job=job, name="quicklook.png").data)
    assert struct.unpack(">II", quicklook[16:24]) == (64, 90)  # width, height
    messages = list(JobLog.objects.filter(job=job).values_list("message", flat=True))
    assert any(f"tile input {own}" in m and "90x64 px uint16" in m for m in messages)
    assert any(m.startswith("done in") for m in messages)


@pytest.mark.django_db(transaction=True)
def test_input_deleted_after_submit_fails_the_job_once_naming_it(api, operator):
    client = api(operator)
    own = upload_file(client, npz_bytes(**scene()), scale=10000).json()["id"]
    body = {"kind": "tile", "params": {"input": own}, "footprint": SQUARE, "max_attempts": 5}
    job_id = client.post(JOBS, body, format="json").json()["id"]
    TileInput.objects.filter(pk=own).delete()  # a raw delete, past the in-use check every UI applies
    run_one_job()
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.FAILED and job.attempts == 1  # no retries: nothing would bring it back
    assert job.max_attempts == 5  # failed as permanent, not by using up its attempts
    assert f"tile input {own} no longer exists" in job.error
    assert JobLog.objects.filter(job=job, message__contains="no retry can fix this").exists()


def test_submit_jobs_command_takes_an_input(org_a, operator, api):
    from django.core.management import CommandError, call_command

    own = upload_file(api(operator), npz_bytes(**scene()), scale=10000).json()["id"]
    out = io.StringIO()
    call_command("submit_jobs", "--organization", org_a.slug, "--count", "3", "--input", str(own), stdout=out)
    assert "3 tile job(s)" in out.getvalue()
    assert [job.params["input"] for job in Job.objects.all()] == [own] * 3
    with pytest.raises(CommandError, match="params.input"):
        call_command("submit_jobs", "--organization", org_a.slug, "--input", "999999", stdout=out, stderr=out)
