"""Live messages of the job queue carry the REST representations: `job.state` the job (with the
server's `can_cancel` / `can_retry`), `job.log` the log line, `gpu.samples` the GPU slots."""

import pytest

from jobs import nvml
from jobs.services import record_samples

pytestmark = pytest.mark.django_db


def test_job_and_log_messages_are_what_the_api_answers(
    api, operator, org_a, live_sent, django_capture_on_commit_callbacks
):
    client = api(operator)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/jobs/", {"kind": "noop", "name": "wire"}, format="json")
    assert created.status_code == 201, created.json()
    job_id = created.json()["id"]
    shown = client.get(f"/api/v1/jobs/{job_id}/").json()
    states = [(topic, m) for topic, m in live_sent if m["kind"] == "job.state"]
    # The job's own fields as the API shows them (names, values, time format): not its relations.
    own = {k: v for k, v in shown.items() if k not in ("organization", "created_by", "parents", "artifacts")}
    own = {k: v for k, v in own.items() if k in states[0][1]["data"]}
    assert states == [
        ("jobs", {"kind": "job.state", "data": own}),
        (f"job.{job_id}", {"kind": "job.state", "data": own}),
    ]
    assert {"id", "state", "progress", "attempts", "created_at", "can_cancel", "can_retry"} <= set(own)
    assert len(own) >= 20 and shown["can_cancel"] and not shown["can_retry"]

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/jobs/{job_id}/cancel/", {"reason": "wire"}, format="json").status_code == 200
    canceled = [m for topic, m in live_sent if topic == f"job.{job_id}" and m["kind"] == "job.state"][-1]["data"]
    now_shown = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert canceled == {k: now_shown[k] for k in canceled}
    assert canceled["state"] == "canceled" and not canceled["can_cancel"] and canceled["can_retry"]
    lines = [m["data"] for topic, m in live_sent if topic == f"job.{job_id}" and m["kind"] == "job.log"]
    assert lines and lines == client.get(f"/api/v1/jobs/{job_id}/logs/").json()[-len(lines) :]


def test_a_gpu_samples_message_is_the_gpus_as_the_api_shows_them(
    api, viewer, gpus, live_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_samples(host="test-host", gpus=[nvml.GpuInfo(i, "sim", f"sim-{i}", 16384, True) for i in range(2)])
    [message] = [m for topic, m in live_sent if topic == "gpus"]
    assert message == {"kind": "gpu.samples", "data": api(viewer).get("/api/v1/gpus/").json()}
    assert all(g["sampled_at"] and g["utilization_pct"] is not None for g in message["data"])
