"""The worker side of the queue: claim (SELECT … FOR UPDATE SKIP LOCKED), heartbeat, finish, and
the sweeper that re-queues jobs whose worker went silent.

Invariants: a job is running on at most one worker (claims lock the row and re-check its state;
finishing checks the worker still owns it), at most one running job per GPU slot (a partial
unique index), and an organization never runs more than its max_concurrent_jobs (claims lock
the organization's quota row before counting)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from missionops.services import record_event

from .exceptions import LeaseLost
from .messages import publish_job, publish_progress
from .models import Job, JobArtifact, JobLog, JobState
from .services import add_log, cancel_descendants, record_usage, release_children, retry_delay_s


@dataclass(frozen=True)
class Claimer:
    """Who claims: `worker` is unique per process; `host` owns the GPU slots it may use."""

    worker: str
    host: str
    lease_s: float = 30.0
    skip_locked: bool = True  # False is the serializing peer, kept for the benchmark


CANDIDATES_SQL = """
WITH running AS (
    SELECT organization_id, count(*) AS n FROM jobs_job WHERE state = 'running' GROUP BY organization_id
), saturated AS (
    SELECT q.organization_id FROM jobs_organizationquota q LEFT JOIN running r USING (organization_id)
    WHERE coalesce(r.n, 0) >= q.max_concurrent_jobs
), gpu_spent AS (
    SELECT q.organization_id FROM jobs_organizationquota q
    JOIN (SELECT organization_id, sum(gpu_seconds) AS s FROM jobs_usageday
          WHERE day = (clock_timestamp() AT TIME ZONE 'UTC')::date GROUP BY organization_id) u USING (organization_id)
    WHERE u.s >= q.daily_gpu_seconds
)
SELECT id, organization_id, needs_gpu FROM jobs_job
WHERE state IN ('queued', 'retrying') AND run_after <= clock_timestamp()
  AND organization_id NOT IN (SELECT organization_id FROM saturated)
  AND (NOT needs_gpu OR (%(gpu_free)s AND organization_id NOT IN (SELECT organization_id FROM gpu_spent)))
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
ORDER BY priority DESC, created_at, id
LIMIT %(limit)s
FOR UPDATE OF jobs_job {skip}
"""

FREE_GPUS_SQL = """
SELECT g.id, g.index FROM jobs_gpu g
WHERE g.host = %s AND g.active
  AND NOT EXISTS (SELECT 1 FROM jobs_job j WHERE j.gpu_id = g.id AND j.state = 'running')
ORDER BY g.index LIMIT %s
FOR UPDATE OF g {skip}
"""


def claim_jobs(*, claimer: Claimer, limit: int = 1, kinds: list[str] | None = None) -> list[Job]:
    """Claim up to `limit` runnable jobs, highest priority then oldest first, in one transaction.

    Rows another claimer holds are skipped, not waited for. Organizations at their concurrency
    limit, or out of GPU-seconds for GPU jobs, are passed over. GPU jobs get one free GPU slot of
    this host each. Each claim counts one attempt and starts a lease of `lease_s` seconds."""
    skip = "SKIP LOCKED" if claimer.skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FREE_GPUS_SQL.format(skip=skip), [claimer.host, limit])
        free_gpus = list(cursor.fetchall())
        cursor.execute(CANDIDATES_SQL.format(skip=skip), {"gpu_free": bool(free_gpus), "kinds": kinds, "limit": limit})
        candidates = cursor.fetchall()
        if not candidates:
            return []
        allowed = _allowed_by_quota(cursor, candidates)
        chosen, gpu_for = [], {}
        for job_id, organization_id, needs_gpu in candidates:
            if allowed.get(organization_id, 0) <= 0 or (needs_gpu and not free_gpus):
                continue
            if needs_gpu:
                gpu_for[job_id] = free_gpus.pop(0)
            allowed[organization_id] -= 1
            chosen.append(job_id)
        if not chosen:
            return []
        cursor.execute(
            """
            UPDATE jobs_job SET state = 'running', attempts = attempts + 1, worker = %s, progress = 0,
                   started_at = clock_timestamp(), heartbeat_at = clock_timestamp(), cancel_requested = false,
                   lease_expires_at = clock_timestamp() + make_interval(secs => %s)
            WHERE id = ANY(%s)
            """,
            [claimer.worker, claimer.lease_s, chosen],
        )
        for job_id, (gpu_id, gpu_index) in gpu_for.items():
            cursor.execute("UPDATE jobs_job SET gpu_id = %s, gpu_index = %s WHERE id = %s", [gpu_id, gpu_index, job_id])
        jobs = list(Job.objects.filter(pk__in=chosen).order_by("-priority", "created_at", "id"))
        JobLog.objects.bulk_create(
            [
                JobLog(
                    job=job,
                    attempt=job.attempts,
                    message=f"attempt {job.attempts}/{job.max_attempts} on {claimer.worker}"
                    + (f", GPU {job.gpu_index}" if job.gpu_id else ""),
                )
                for job in jobs
            ]
        )
        for job in jobs:
            publish_job(job)
        return jobs


def _allowed_by_quota(cursor, candidates) -> dict[int, int]:
    """Per organization among the candidates: how many more may start now. Locks the quota rows
    (in id order, so claimers never deadlock) and counts running jobs after the lock, so two
    claimers cannot both take the last slot."""
    organization_ids = sorted({row[1] for row in candidates})
    cursor.execute(
        """SELECT organization_id, max_concurrent_jobs FROM jobs_organizationquota
           WHERE organization_id = ANY(%s) ORDER BY organization_id FOR UPDATE""",
        [organization_ids],
    )
    limits = dict(cursor.fetchall())
    cursor.execute(
        """SELECT organization_id, count(*) FROM jobs_job
           WHERE state = 'running' AND organization_id = ANY(%s) GROUP BY organization_id""",
        [organization_ids],
    )
    running = dict(cursor.fetchall())
    return {org: limits.get(org, 0) - running.get(org, 0) for org in organization_ids}


def heartbeat(*, job_id: int, worker: str, lease_s: float, progress: float | None = None) -> bool:
    """Extend the lease (and store progress). Returns True when cancellation was requested.
    Raises LeaseLost when the job is no longer this worker's (swept, or finished elsewhere)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE jobs_job SET heartbeat_at = clock_timestamp(),
                   lease_expires_at = clock_timestamp() + make_interval(secs => %s),
                   progress = coalesce(%s, progress)
            WHERE id = %s AND worker = %s AND state = 'running'
            RETURNING cancel_requested, organization_id
            """,
            [lease_s, progress, job_id, worker],
        )
        row = cursor.fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id} is no longer held by {worker}")
    if progress is not None:
        publish_progress(job_id=job_id, organization_id=row[1], progress=progress)
    return row[0]


def _owned(job_id: int, worker: str) -> Job:
    job = Job.objects.select_for_update().select_related("organization").filter(pk=job_id).first()
    if job is None or job.state != JobState.RUNNING or job.worker != worker:
        raise LeaseLost(f"job {job_id} is no longer held by {worker}")
    return job


def _end_attempt(job: Job, now) -> float:
    """Close the current attempt: GPU-seconds are accounted, the slot and lease are released."""
    used = (now - job.started_at).total_seconds() if job.gpu_id and job.started_at else 0.0
    job.gpu_seconds += used
    job.gpu, job.lease_expires_at = None, None
    return used


@transaction.atomic
def complete_job(*, job_id: int, worker: str, result: dict, artifacts: list[tuple[str, str, bytes]] = ()) -> Job:
    """Record success (result, artifacts) if this worker still owns the job; release its children."""
    import hashlib

    job, now = _owned(job_id, worker), timezone.now()
    used = _end_attempt(job, now)
    job.state, job.progress, job.result, job.finished_at, job.error = JobState.SUCCEEDED, 100.0, result, now, ""
    job.save(
        update_fields=["state", "progress", "result", "finished_at", "error", "gpu", "lease_expires_at", "gpu_seconds"]
    )
    JobArtifact.objects.bulk_create(
        [
            JobArtifact(
                job=job,
                name=name,
                content_type=content_type,
                data=data,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
            for name, content_type, data in artifacts
        ]
    )
    record_usage(job, gpu_seconds=used, finished=True, succeeded=True)
    release_children(job)
    publish_job(job)
    return job


@transaction.atomic
def fail_job(*, job_id: int, worker: str, error: str) -> Job:
    """Record a failed attempt: retried after an exponential backoff while attempts remain,
    else failed for good, cancelling the jobs downstream."""
    job, now = _owned(job_id, worker), timezone.now()
    used = _end_attempt(job, now)
    _settle_failure(job, error=error, now=now)
    record_usage(job, gpu_seconds=used, finished=job.is_terminal, succeeded=False)
    return job


@transaction.atomic
def stop_canceled_job(*, job_id: int, worker: str) -> Job:
    """The worker stopped a job whose cancellation was requested."""
    job, now = _owned(job_id, worker), timezone.now()
    used = _end_attempt(job, now)
    job.state, job.finished_at = JobState.CANCELED, now
    job.save()
    add_log(job, f"stopped at {job.progress:.0f}%: {job.cancel_reason}", level="warning")
    record_usage(job, gpu_seconds=used, finished=True, succeeded=False)
    cancel_descendants(job, reason=f"parent job {job.pk} canceled")
    publish_job(job)
    return job


def _settle_failure(job: Job, *, error: str, now) -> None:
    job.error = error[:5000]
    if job.cancel_requested:
        job.state, job.finished_at = JobState.CANCELED, now
        add_log(job, f"canceled: {job.cancel_reason}", level="warning")
    elif job.attempts < job.max_attempts:
        delay = retry_delay_s(job.attempts)
        job.state, job.run_after = JobState.RETRYING, now + timedelta(seconds=delay)
        add_log(job, f"attempt {job.attempts} failed: {error[:500]}; retrying in {delay:g} s", level="error")
    else:
        job.state, job.finished_at = JobState.FAILED, now
        add_log(job, f"attempt {job.attempts} failed: {error[:500]}; no attempts left", level="error")
    job.save()
    if job.state == JobState.FAILED:
        record_event(organization=job.organization, kind="job.failed", subject=job, payload={"error": job.error[:500]})
    if job.is_terminal:
        cancel_descendants(job, reason=f"parent job {job.pk} {job.state}")
    publish_job(job)


def sweep_expired_leases(*, limit: int = 500) -> list[Job]:
    """Jobs whose lease ran out (their worker died or hung) count the attempt as failed: re-queued
    with backoff, failed when out of attempts, canceled if cancellation was asked. Safe to run
    from several processes at once (rows are claimed with SKIP LOCKED)."""
    with transaction.atomic():
        now = timezone.now()
        expired = list(
            Job.objects.select_for_update(skip_locked=True)
            .select_related("organization")
            .filter(state=JobState.RUNNING, lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:limit]
        )
        for job in expired:
            silent = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
            worker = job.worker
            used = _end_attempt(job, min(now, job.lease_expires_at))
            job.worker = ""
            _settle_failure(job, error=f"lease expired: worker {worker} silent since {silent}", now=now)
            record_usage(job, gpu_seconds=used, finished=job.is_terminal, succeeded=False)
        return expired
