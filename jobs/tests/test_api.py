"""The REST API: happy paths, bad input (4xx naming the field, nothing written), another
organization (404), a viewer (403), filters including bbox across the antimeridian, quotas."""

import pytest
from django_celery_beat.models import PeriodicTask

from jobs import selectors
from jobs.models import Job, JobArtifact, JobState, JobTemplate, OrganizationQuota
from jobs.services import dispatch
from missionops.models import Event

from .conftest import SQUARE

URL = "/api/v1/jobs/"


def box(west, south, east, north):
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def test_operator_submits_and_reads_a_job(api, operator):
    client = api(operator)
    body = {"kind": "tile", "params": {"seed": 4, "size_px": 128}, "footprint": SQUARE, "priority": 5, "name": "Alps"}
    created = client.post(URL, body, format="json")
    assert created.status_code == 201, created.json()
    job = created.json()
    assert job["state"] == "queued" and job["needs_gpu"] and job["organization"] == "org-a"
    assert job["bbox"] == [10.0, 45.0, 11.0, 46.0] and job["params"]["cloud_cover"] == 0.3
    assert client.get(f"{URL}{job['id']}/").json()["name"] == "Alps"
    assert Event.objects.filter(kind="job.submitted").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "tile", "params": {"size_px": 5}, "footprint": SQUARE}, "params.size_px"),
        ({"kind": "tile", "params": {"bogus": 1}, "footprint": SQUARE}, "params.bogus"),
        ({"kind": "tile", "params": {}}, "footprint"),
        ({"kind": "tile", "footprint": {"type": "Point", "coordinates": [1, 2]}}, "footprint"),
        ({"kind": "tile", "footprint": box(10, 45, 11, 95)}, "footprint"),
        ({"kind": "laser"}, "kind"),
        ({"kind": "sleep", "priority": 1000}, "priority"),
        ({"kind": "sleep", "parents": [999999]}, "parents"),
        ({"kind": "sleep", "organization": "org-b"}, "organization"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api, operator, org_b, body, field):
    before = Job.objects.count(), Event.objects.count()
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json().get("errors", response.json())
    assert (Job.objects.count(), Event.objects.count()) == before


def test_cursor_pages_newest_first_and_a_bad_cursor_is_a_400(api, operator, submit):
    ids = [submit(kind="noop").pk for _ in range(5)]
    client, seen, url = api(operator), [], f"{URL}?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [j["id"] for j in page["results"]]
        url = page["next"]
    assert seen == ids[::-1]
    bad = client.get(URL, {"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


def test_counts_cover_the_callers_organizations_only(api, operator, stranger, submit):
    submit(kind="noop")
    submit(kind="noop", priority=3)
    counts = api(operator).get(f"{URL}counts/").json()
    assert counts["queued"] == 2 and counts["running"] == 0 and set(counts) >= {"waiting", "succeeded", "canceled"}
    assert set(api(stranger).get(f"{URL}counts/").json().values()) == {0}


def test_a_kind_without_params_says_so(api, operator):
    refused = api(operator).post(URL, {"kind": "noop", "params": {"x": 1}}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "params.x"
    assert "this kind takes none" in refused.json()["detail"]


def test_batch_is_all_or_nothing_and_names_the_item(api, operator):
    client = api(operator)
    good = {"kind": "sleep", "params": {"duration_s": 1}}
    refused = client.post(f"{URL}batch/", {"jobs": [good, {"kind": "sleep", "params": {"steps": 0}}]}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "jobs.1.params.steps"
    assert Job.objects.count() == 0
    not_a_list = client.post(f"{URL}batch/", {"jobs": "tile"}, format="json")
    assert not_a_list.status_code == 400 and not_a_list.json()["field"] == "jobs"
    alone = client.post(f"{URL}batch/", {"jobs": [{"kind": "tile"}]}, format="json")  # a batch of one, too
    assert alone.status_code == 400 and alone.json()["field"] == "jobs.0.footprint"
    created = client.post(f"{URL}batch/", {"jobs": [good] * 3}, format="json")
    assert created.status_code == 201 and len(created.json()) == 3


def test_viewer_may_read_but_not_submit_or_cancel(api, viewer, submit):
    job = submit()
    client = api(viewer)
    assert client.get(f"{URL}{job.pk}/").status_code == 200
    assert client.post(URL, {"kind": "noop"}, format="json").status_code == 403
    assert client.post(f"{URL}{job.pk}/cancel/", {}, format="json").status_code == 403
    assert client.post(f"{URL}bulk/", {"action": "cancel", "ids": [job.pk]}, format="json").status_code == 403
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_other_organization_gets_404(api, stranger, submit):
    job = submit()
    client = api(stranger)
    assert client.get(URL).json()["results"] == []
    for path in ("", "logs/", "artifacts/quicklook.png/"):
        assert client.get(f"{URL}{job.pk}/{path}").status_code == 404
    assert client.post(f"{URL}{job.pk}/cancel/", {}, format="json").status_code == 404
    assert client.post(f"{URL}{job.pk}/retry/", {}, format="json").status_code == 404
    assert client.delete(f"{URL}{job.pk}/").status_code == 404
    bulk = client.post(f"{URL}bulk/", {"action": "delete", "ids": [job.pk]}, format="json").json()
    assert bulk["done"] == [] and bulk["skipped"] == {str(job.pk): "not found"}
    assert client.post(URL, {"kind": "sleep", "parents": [job.pk]}, format="json").status_code == 400
    assert Job.objects.filter(pk=job.pk, state=JobState.QUEUED).exists()


def test_cancel_retry_delete_and_bulk(api, operator, submit):
    client = api(operator)
    a, b, c = submit(), submit(), submit()
    canceled = client.post(f"{URL}{a.pk}/cancel/", {"reason": "not needed"}, format="json")
    assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"
    # What applies now is part of the job, so a client need not copy the rules.
    assert (canceled.json()["can_cancel"], canceled.json()["can_retry"]) == (False, True)
    queued = client.get(f"{URL}{b.pk}/").json()
    assert (queued["can_cancel"], queued["can_retry"]) == (True, False)
    assert client.post(f"{URL}{a.pk}/cancel/", {}, format="json").status_code == 409
    assert client.post(f"{URL}{b.pk}/retry/", {}, format="json").status_code == 409
    refused = client.delete(f"{URL}{b.pk}/")
    assert refused.status_code == 409 and refused.json()["field"] == "state"
    assert client.post(f"{URL}{a.pk}/retry/", {}, format="json").json()["state"] == "queued"
    bulk = client.post(f"{URL}bulk/", {"action": "cancel", "ids": [a.pk, b.pk, c.pk, 424242]}, format="json").json()
    assert bulk["done"] == [a.pk, b.pk, c.pk] and bulk["skipped"] == {"424242": "not found"}
    deleted = client.post(f"{URL}bulk/", {"action": "delete", "ids": [a.pk, b.pk]}, format="json").json()
    assert deleted["done"] == [a.pk, b.pk] and list(Job.objects.values_list("pk", flat=True)) == [c.pk]


def test_bulk_cancel_and_retry_of_a_dag_go_parents_first_whatever_the_order_given(api, operator, submit, monkeypatch):
    client = api(operator)
    parent = submit()
    child = submit(kind="noop", parents=[parent.pk])
    grandchild = submit(kind="noop", parents=[child.pk, parent.pk])
    everyone = [grandchild.pk, parent.pk, child.pk]  # as a selection may list them

    canceled = client.post(f"{URL}bulk/", {"action": "cancel", "ids": everyone}, format="json").json()
    assert canceled["done"] == sorted(everyone) and canceled["skipped"] == {}
    states = dict(Job.objects.values_list("pk", "state"))
    assert {states[pk] for pk in everyone} == {JobState.CANCELED}

    retried = client.post(f"{URL}bulk/", {"action": "retry", "ids": everyone}, format="json").json()
    assert retried["done"] == sorted(everyone) and retried["skipped"] == {}
    states = dict(Job.objects.values_list("pk", "state"))
    assert states == {parent.pk: JobState.QUEUED, child.pk: JobState.WAITING, grandchild.pk: JobState.WAITING}

    # Canceled one by one, children first (each by the operator, not because of a parent): a bulk
    # retry still reopens all three, even when the database hands the rows back children first
    # (without an ORDER BY it returns them in whatever order a scan meets them).
    for pk in (grandchild.pk, child.pk, parent.pk):
        assert client.post(f"{URL}{pk}/cancel/", {}, format="json").status_code == 200
    visible = selectors.jobs_visible_to
    monkeypatch.setattr(selectors, "jobs_visible_to", lambda user: visible(user).order_by("-pk"))
    retried = client.post(f"{URL}bulk/", {"action": "retry", "ids": everyone}, format="json").json()
    assert retried["done"] == sorted(everyone) and retried["skipped"] == {}
    assert set(Job.objects.filter(state=JobState.CANCELED).values_list("pk", flat=True)) == set()

    # A job refused for its own state is still reported as skipped.
    again = client.post(f"{URL}bulk/", {"action": "retry", "ids": [parent.pk]}, format="json").json()
    assert again["done"] == [] and "only failed or canceled" in again["skipped"][str(parent.pk)]


def test_filters_state_kind_text_and_created(api, owner, submit):
    sleeper = submit(name="alpha sleeper")
    submit(kind="noop", name="beta")
    client = api(owner)
    assert [j["id"] for j in client.get(URL, {"q": "alpha"}).json()["results"]] == [sleeper.pk]
    assert [j["kind"] for j in client.get(URL, {"kind": "noop"}).json()["results"]] == ["noop"]
    assert len(client.get(URL, {"state": ["queued", "running"]}).json()["results"]) == 2
    assert client.get(URL, {"created_after": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert client.get(URL, {"state": "sleeping"}).status_code == 400


def test_bbox_filter_including_the_antimeridian(api, owner, submit):
    europe = submit(kind="tile", footprint=box(10, 45, 11, 46))
    fiji = submit(kind="tile", footprint=box(178, -18, -178, -16))  # crosses 180°
    tonga = submit(kind="tile", footprint=box(-176, -22, -174, -20))
    client = api(owner)

    def hits(bbox):
        response = client.get(URL, {"bbox": bbox})
        assert response.status_code == 200, response.json()
        return {j["id"] for j in response.json()["results"]}

    assert Job.objects.get(pk=fiji.pk).bbox_west == 178 and Job.objects.get(pk=fiji.pk).bbox_east == -178
    assert hits("0,40,20,50") == {europe.pk}
    assert hits("179,-19,179.5,-15") == {fiji.pk}  # inside the wrapped box, east of 178
    assert hits("-179.5,-19,-179,-15") == {fiji.pk}  # inside the wrapped box, west of -178
    assert hits("170,-30,-170,-10") == {fiji.pk, tonga.pk}  # wrapped query: 170..180 and -180..-170
    assert hits("175,-30,-177,-10") == {fiji.pk}  # wrapped query stopping short of Tonga
    assert hits("-177,-30,-173,-10") == {tonga.pk}  # plain query east of Fiji's -178 edge
    assert hits("-178.5,-30,-173,-10") == {fiji.pk, tonga.pk}  # plain query overlapping the wrapped box
    assert hits("179,-30,179.5,-25") == set()  # right longitudes, wrong latitudes
    assert hits("-170,-30,170,-10") == set()  # the rest of the world, at that latitude
    bad = client.get(URL, {"bbox": "1,2,3"})
    assert bad.status_code == 400 and bad.json()["field"] == "bbox"


def test_quota_hit_is_429_naming_the_limit(api, operator, org_a, submit):
    submit()
    OrganizationQuota.objects.filter(organization=org_a).update(max_queued_jobs=1)
    response = api(operator).post(URL, {"kind": "noop"}, format="json")
    assert response.status_code == 429 and response.json()["field"] == "max_queued_jobs"
    assert "max_queued_jobs" in response.json()["detail"]


def test_logs_and_artifact_download(api, owner, submit, claimer):
    job = submit()
    dispatch.claim_jobs(claimer=claimer)
    dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={}, artifacts=[("x.png", "image/png", b"PNG!")])
    client = api(owner)
    lines = client.get(f"{URL}{job.pk}/logs/").json()
    assert lines and lines[0]["message"].startswith("attempt 1/3")
    assert client.get(f"{URL}{job.pk}/logs/", {"after": lines[-1]["id"]}).json() == []
    for name in ("after", "tail"):
        bad = client.get(f"{URL}{job.pk}/logs/", {name: "abc"})
        assert bad.status_code == 400 and bad.json()["field"] == name
    download = client.get(f"{URL}{job.pk}/artifacts/x.png/")
    assert download.status_code == 200 and download.content == b"PNG!" and download["Content-Type"] == "image/png"
    assert client.get(f"{URL}{job.pk}/").json()["artifacts"][0]["url"] == f"{URL}{job.pk}/artifacts/x.png/"
    assert client.get(f"{URL}{job.pk}/artifacts/nope.png/").status_code == 404
    assert JobArtifact.objects.count() == 1


def test_gpus_are_listed_and_marked_simulated(api, viewer, gpus):
    from jobs import nvml
    from jobs.services import record_samples

    record_samples(host="test-host", gpus=[nvml.GpuInfo(i, "sim", f"sim-{i}", 16384, True) for i in range(2)])
    client = api(viewer)
    listed = client.get("/api/v1/gpus/").json()
    assert [g["index"] for g in listed] == [0, 1] and all(g["simulated"] for g in listed)
    assert listed[0]["utilization_pct"] is not None
    samples = client.get(f"/api/v1/gpus/{listed[0]['id']}/samples/").json()
    assert len(samples) == 1 and samples[0]["memory_used_mb"] > 0


def test_templates_with_cron_schedule(api, operator, viewer, stranger):
    client = api(operator)
    body = {"name": "nightly", "kind": "sleep", "params": {"duration_s": 1}, "cron": "0 2 * * *"}
    created = client.post("/api/v1/job-templates/", body, format="json")
    assert created.status_code == 201, created.json()
    template = JobTemplate.objects.get()
    assert created.json()["cron"] == "0 2 * * *" and template.periodic_task.task == "jobs.tasks.submit_template"
    assert (
        client.post(
            "/api/v1/job-templates/", {**body, "name": "bad", "params": {"steps": -1}}, format="json"
        ).status_code
        == 400
    )
    assert api(viewer).post(f"/api/v1/job-templates/{template.pk}/submit/", {}, format="json").status_code == 403
    assert api(stranger).get(f"/api/v1/job-templates/{template.pk}/").status_code == 404
    submitted = client.post(f"/api/v1/job-templates/{template.pk}/submit/", {"priority": 3}, format="json")
    assert submitted.status_code == 201 and submitted.json()["priority"] == 3
    # Beat's task does the same on schedule.
    from jobs.tasks import submit_template

    assert Job.objects.get(pk=submit_template(template.pk)).template_id == template.pk
    assert client.patch(f"/api/v1/job-templates/{template.pk}/", {"cron": ""}, format="json").status_code == 200
    assert not PeriodicTask.objects.filter(task="jobs.tasks.submit_template").exists()
    assert client.delete(f"/api/v1/job-templates/{template.pk}/").status_code == 204


def test_usage_summary(api, owner, submit, claimer, gpus):
    job = submit(params={"gpu": True})
    dispatch.claim_jobs(claimer=claimer)
    dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={})
    usage = api(owner).get("/api/v1/usage/").json()
    assert usage["organizations"][0]["organization"] == "org-a" and usage["organizations"][0]["jobs"] == 1
    assert usage["leaderboard"][0]["user"] == "owner" and usage["leaderboard"][0]["rank"] == 1
    assert usage["days"][0]["succeeded"] == 1
    assert usage["quotas"][0]["max_concurrent_jobs"] == 4
    # Each section carries its own fields, nothing another section's.
    assert set(usage["organizations"][0]) == {"organization", "jobs", "succeeded", "gpu_seconds"}
    assert set(usage["leaderboard"][0]) == {"rank", "organization", "user", "jobs", "succeeded", "gpu_seconds"}
    assert set(usage["days"][0]) == {"day", "organization", "jobs", "succeeded", "gpu_seconds"}
    for query, field in (({"since": "yesterday"}, "since"), ({"until": "bad"}, "until")):
        bad = api(owner).get("/api/v1/usage/", query)
        assert bad.status_code == 400 and bad.json()["field"] == field
    backwards = api(owner).get("/api/v1/usage/", {"since": "2026-12-31", "until": "2026-12-01"})
    assert backwards.status_code == 400 and backwards.json()["field"] == "until"


def test_schema_lists_every_endpoint(api, owner):
    schema = api(owner).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/jobs/",
        "/api/v1/jobs/batch/",
        "/api/v1/jobs/bulk/",
        "/api/v1/jobs/{id}/cancel/",
        "/api/v1/jobs/{id}/retry/",
        "/api/v1/jobs/{id}/logs/",
        "/api/v1/jobs/{id}/artifacts/{name}/",
        "/api/v1/gpus/",
        "/api/v1/gpus/{id}/samples/",
        "/api/v1/job-templates/",
        "/api/v1/job-templates/{id}/submit/",
        "/api/v1/usage/",
        "/api/v1/tile-inputs/",
        "/api/v1/tile-inputs/{id}/",
    ):
        assert path in schema["paths"], path


@pytest.mark.parametrize("text", ["²", "٣", "9" * 30])
def test_text_that_only_looks_like_a_job_id_is_searched_as_text(api, operator, client, submit, text):
    """str.isdigit() takes "²" and Arabic-Indic digits, which int() or a bigint refuse: they were 500s."""
    submit(kind="noop", name=f"run {text}")
    found = api(operator).get(URL, {"q": text})
    assert found.status_code == 200 and len(found.json()["results"]) == 1
    client.force_login(operator)
    assert client.get("/jobs/", {"q": text}).status_code == 200


def test_a_job_topic_that_is_not_an_id_is_refused(operator):
    from missionops.live import TopicRefused, groups_for_subscription

    with pytest.raises(TopicRefused):
        groups_for_subscription(operator, "job.²")


def test_template_submit_params_must_be_an_object(api, operator):
    client = api(operator)
    template = client.post(URL.replace("jobs", "job-templates"), {"name": "t", "kind": "noop"}, format="json")
    assert template.status_code == 201, template.json()
    for params in ([1, 2], "fast"):
        submit_url = f"/api/v1/job-templates/{template.json()['id']}/submit/"
        answer = client.post(submit_url, {"params": params}, format="json")
        assert answer.status_code == 400 and "params" in answer.json(), answer.json()
    assert not Job.objects.exists()


def test_a_gpu_read_alone_carries_its_latest_sample(api, viewer, gpus):
    from jobs import nvml
    from jobs.services import record_samples

    infos = [nvml.GpuInfo(i, nvml.SIMULATED_NAME, f"sim-{i}", 16384, True) for i in range(2)]
    record_samples(host="test-host", gpus=infos)
    client = api(viewer)
    listed = {gpu["id"]: gpu for gpu in client.get("/api/v1/gpus/").json()}
    one = client.get(f"/api/v1/gpus/{gpus[0].pk}/").json()
    assert one["sampled_at"] is not None and one["sampled_at"] == listed[gpus[0].pk]["sampled_at"]
    assert one["utilization_pct"] == listed[gpus[0].pk]["utilization_pct"]


def test_the_template_filter_does_not_tell_another_organizations_templates_from_unknown_ids(api, operator, org_b):
    theirs = JobTemplate.objects.create(organization=org_b, name="theirs", kind="noop")
    client = api(operator)
    other, unknown = client.get(URL, {"template": theirs.pk}), client.get(URL, {"template": 999_999})
    assert other.status_code == unknown.status_code == 200
    assert other.json()["results"] == unknown.json()["results"] == []
    assert client.get(URL, {"template": "abc"}).status_code == 400  # not an id at all


def test_the_job_list_reads_artifacts_once_and_without_their_bytes(api, owner, submit, claimer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        job = submit(kind="noop")
        dispatch.claim_jobs(claimer=claimer)
        artifacts = [("a.bin", "application/octet-stream", b"x" * 1000)]
        dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={}, artifacts=artifacts)
    with CaptureQueriesContext(connection) as queries:
        listed = api(owner).get(URL)
    assert listed.status_code == 200 and all(len(job["artifacts"]) == 1 for job in listed.json()["results"])
    reads = [q["sql"] for q in queries.captured_queries if "jobs_jobartifact" in q["sql"]]
    assert len(reads) == 1 and '"jobs_jobartifact"."data"' not in reads[0]
