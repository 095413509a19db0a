"""The tile-processing workload: deterministic synthetic bands, NDVI, cloud mask, statistics, PNGs."""

import struct
import zlib

import numpy as np
import pytest

from jobs.exceptions import JobParamsError
from jobs.models import Job, JobArtifact, JobLog, JobState
from jobs.workloads import tile
from jobs.workloads.png import encode_png

BBOX = (10.0, 45.0, 11.0, 46.0)


def params(**overrides):
    return tile.validate_params({"size_px": 128, **overrides})


def test_same_footprint_and_seed_give_the_same_tile():
    first, pics1 = tile.process_tile(bbox=BBOX, params=params(seed=7))
    again, pics2 = tile.process_tile(bbox=BBOX, params=params(seed=7, blocks=3))  # blocking does not matter
    other, _ = tile.process_tile(bbox=BBOX, params=params(seed=8))
    assert first == again and np.array_equal(pics1["rgb"], pics2["rgb"])
    assert other["ndvi_mean"] != first["ndvi_mean"]


def test_ndvi_and_cloud_mask_follow_their_definitions():
    scene = tile.scene_parameters(BBOX, 3)
    bands, opacity = tile.synthesize_block(np, scene, 64, 0, 64, 0.5)
    ndvi = tile.ndvi_of(np, bands["red"], bands["nir"])
    assert np.allclose(ndvi, (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"]))
    mask = tile.cloud_mask_of(np, bands, 0.3)
    assert mask[opacity > 0.9].all() and not mask[opacity == 0].any()


def test_statistics_are_consistent():
    stats, pictures = tile.process_tile(bbox=BBOX, params=params(cloud_cover=0.5))
    assert stats["pixels"] == 128 * 128
    assert stats["clear_pixels"] == round(stats["pixels"] * (1 - stats["cloud_fraction"]))
    assert sum(stats["ndvi_histogram"]) == stats["clear_pixels"]
    assert (
        -1 <= stats["ndvi_min"] <= stats["ndvi_p10"] <= stats["ndvi_p50"] <= stats["ndvi_p90"] <= stats["ndvi_max"] <= 1
    )
    assert pictures["rgb"].shape == (128, 128, 3)


def test_png_encoder_writes_a_valid_file():
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = encode_png(pixels)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (3, 2, 8, 2)
    idat_length = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41 : 41 + idat_length])
    assert raw == b"\x00" + pixels[0].tobytes() + b"\x00" + pixels[1].tobytes()


@pytest.mark.parametrize(
    "bad, field",
    [({"size_px": 10}, "params.size_px"), ({"seed": "x"}, "params.seed"), ({"colour": 1}, "params.colour")],
)
def test_bad_params_name_the_field(bad, field):
    with pytest.raises(JobParamsError) as refused:
        tile.validate_params(bad)
    assert refused.value.field == field


def test_cupy_matches_numpy_within_tolerance():
    cupy = pytest.importorskip("cupy")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no CUDA device")
    on_cpu, _ = tile.process_tile(bbox=BBOX, params=params(size_px=512), xp=np)
    on_gpu, _ = tile.process_tile(bbox=BBOX, params=params(size_px=512), xp=cupy)
    for key, value in on_cpu.items():
        if key == "ndvi_histogram":
            assert np.abs(np.array(value) - np.array(on_gpu[key])).sum() <= 0.001 * on_cpu["pixels"]
        else:
            assert on_gpu[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


@pytest.mark.django_db(transaction=True)
def test_tile_job_runs_end_to_end_with_progress_logs_and_quicklook(submit):
    from jobs.runner import JobWorker

    job = submit(kind="tile", params={"size_px": 256, "seed": 11})
    worker = JobWorker(host="tile-host", max_jobs=1, exit_when_idle_s=5, sample_s=0, sweep_s=0, heartbeat_s=0.2)
    assert worker.run() == 1
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.progress == 100 and job.gpu_index in (0, 1) and job.gpu_seconds > 0
    assert job.result["backend"] == "numpy" and 0 <= job.result["cloud_fraction"] <= 1
    quicklook = JobArtifact.objects.get(job=job, name="quicklook.png")
    assert bytes(quicklook.data)[:4] == b"\x89PNG" and quicklook.content_type == "image/png"
    messages = list(JobLog.objects.filter(job=job).values_list("message", flat=True))
    assert any("backend numpy" in m for m in messages) and any(m.startswith("done in") for m in messages)
