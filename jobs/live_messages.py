"""What the job queue says on the live socket: `jobs` (organization-wide) and `job.<id>`."""

from django.conf import settings

from missionops import live


def _enabled() -> bool:
    # Off only in bench/jobs_settings.py, to measure the queue without the socket pushes.
    return settings.JOBS_LIVE_PUBLISH


def job_message(job) -> dict:
    return {
        "kind": "job.state",
        "id": job.pk,
        "name": job.name,
        "job_kind": job.kind,
        "state": job.state,
        "progress": round(job.progress, 1),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "worker": job.worker,
        "gpu_index": job.gpu_index,
        "priority": job.priority,
        "error": job.error[:300],
        "cancel_reason": job.cancel_reason,
        "gpu_seconds": round(job.gpu_seconds, 1),
        "cancel_requested": job.cancel_requested,
        # What the job page's buttons offer now: the rules stay in the model, not copied to JS.
        "can_cancel": job.can_cancel(),
        "can_retry": job.can_retry(),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def publish_job(job) -> None:
    if not _enabled():
        return
    message = job_message(job)
    live.publish_many(("jobs", f"job.{job.pk}"), message, organization=job.organization_id)


def publish_progress(*, job_id: int, organization_id: int, progress: float, message: str = "") -> None:
    if not _enabled():
        return
    payload = {"kind": "job.progress", "id": job_id, "progress": round(progress, 1), "message": message}
    live.publish_many(("jobs", f"job.{job_id}"), payload, organization=organization_id)


def publish_log(log, *, organization_id: int) -> None:
    if not _enabled():
        return
    payload = {
        "kind": "job.log",
        "id": log.job_id,
        "log_id": log.pk,
        "at": log.at,
        "level": log.level,
        "attempt": log.attempt,
        "message": log.message,
    }
    live.publish(f"job.{log.job_id}", payload, organization=organization_id)


def publish_deleted(jobs) -> None:
    """Deleted jobs leave the other open pages (the queue drops their rows, a job page says so)."""
    if not _enabled():
        return
    for job in jobs:
        payload = {"kind": "job.deleted", "id": job.pk}
        live.publish_many(("jobs", f"job.{job.pk}"), payload, organization=job.organization_id)
