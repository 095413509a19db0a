"""What the job queue says on the live socket: `jobs` (organization-wide) and `job.<id>`. A job's
message carries the fields of its REST representation that live on its row (see `job_state`), with
`can_cancel` and `can_retry`; a log line its `JobLogSerializer` representation."""

from django.conf import settings
from rest_framework import serializers

from missionops import live

from .representations import JobLogSerializer


def _enabled() -> bool:
    # Off only in bench/jobs_settings.py, to measure the queue without the socket pushes.
    return settings.JOBS_LIVE_PUBLISH


# What a `job.state` message carries: the fields of the job's REST representation (JobSerializer)
# that live on the job's own row, under the same names and rendered the same way (jobs/tests/
# test_wire_shape.py checks each against the API's answer). Not the serializer itself: every claim
# and completion publishes one, and the serializer's relations (organization, creator, parents,
# artifacts) and fields cost the queue 828 -> 179 jobs/s in bench/jobs.py. The pages read the rest
# (artifacts, parents) from the REST API when a job finishes.
STATE_FIELDS = (
    "id", "name", "kind", "priority", "state", "needs_gpu", "attempts", "max_attempts", "worker", "gpu_index",
    "progress", "error", "cancel_requested", "cancel_reason", "gpu_seconds",
)  # fmt: skip
_TIMES = ("run_after", "lease_expires_at", "heartbeat_at", "created_at", "started_at", "finished_at")
_time = serializers.DateTimeField()


def job_state(job) -> dict:
    data = {name: getattr(job, name) for name in STATE_FIELDS}
    data.update({name: _time.to_representation(v) if (v := getattr(job, name)) else None for name in _TIMES})
    data["can_cancel"], data["can_retry"] = job.can_cancel(), job.can_retry()
    return {"kind": "job.state", "data": data}


def publish_job(job) -> None:
    if not _enabled():
        return
    live.publish_many(("jobs", f"job.{job.pk}"), job_state(job), organization=job.organization_id)


def publish_jobs(jobs) -> None:
    """`publish_job` of each of `jobs` (a claim of 100, a batch of 1000)."""
    if not _enabled() or not jobs:
        return
    for job in jobs:
        publish_job(job)


def publish_progress(*, job_id: int, organization_id: int, progress: float, message: str = "") -> None:
    """Progress between state changes: the job's `id` and `progress` (as in its representation) and
    what the job says it is doing."""
    if not _enabled():
        return
    payload = {"kind": "job.progress", "data": {"id": job_id, "progress": round(progress, 1), "message": message}}
    live.publish_many(("jobs", f"job.{job_id}"), payload, organization=organization_id)


def publish_log(log, *, organization_id: int) -> None:
    if not _enabled():
        return
    live.publish(f"job.{log.job_id}", live.live_message("job.log", JobLogSerializer, log), organization=organization_id)


def publish_deleted(jobs) -> None:
    """Deleted jobs leave the other open pages (the queue drops their rows, a job page says so)."""
    if not _enabled():
        return
    for job in jobs:
        payload = {"kind": "job.deleted", "data": {"id": job.pk}}
        live.publish_many(("jobs", f"job.{job.pk}"), payload, organization=job.organization_id)
