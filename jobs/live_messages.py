"""What the job queue says on the live socket: `jobs` (organization-wide) and `job.<id>`. A job's
message carries its REST representation (`representations.JobSerializer`, with `can_cancel` and
`can_retry`); a log line its `JobLogSerializer` one."""

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects

from missionops import live

from .models import JobArtifact
from .representations import JobLogSerializer, JobSerializer


def _enabled() -> bool:
    # Off only in bench/jobs_settings.py, to measure the queue without the socket pushes.
    return settings.JOBS_LIVE_PUBLISH


def publish_job(job) -> None:
    if not _enabled():
        return
    message = live.live_message("job.state", JobSerializer, job)
    live.publish_many(("jobs", f"job.{job.pk}"), message, organization=job.organization_id)


def publish_jobs(jobs) -> None:
    """`publish_job` of each of `jobs`, their relations read in four queries, not four per job
    (a claim of 100, a batch of 1000)."""
    if not _enabled() or not jobs:
        return
    artifacts = Prefetch("artifacts", queryset=JobArtifact.objects.defer("data"))
    prefetch_related_objects(jobs, "organization", "created_by", "parents", artifacts)
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
