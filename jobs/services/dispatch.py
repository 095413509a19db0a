"""The worker side of the queue: claim (SELECT … FOR UPDATE SKIP LOCKED), heartbeat, finish, and
the sweeper that re-queues jobs whose worker went silent.

Invariants: a job is running on at most one worker (claims lock the row and re-check its state;
finishing checks the worker still owns it), at most one running job per GPU slot (a partial
unique index), and an organization never runs more than its max_concurrent_jobs (a running job
holds one of the organization's run slots, taken with SKIP LOCKED like the jobs themselves, so
claimers for one organization do not queue behind each other)."""

import contextlib
import functools
import hashlib
import json
import weakref
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from missionops.prepared import execute_prepared
from missionops.services import record_event

from ..exceptions import LeaseLost
from ..live_messages import publish_job, publish_jobs, publish_progress
from ..models import USAGE_SHARDS, Job, JobArtifact, JobState, RunSlot
from .dag import cancel_descendants, release_children, release_ready_jobs
from .logs import add_log
from .usage import record_usage, sync_run_slots


@dataclass(frozen=True)
class Claimer:
    """Who claims: `worker` is unique per process; `host` owns the GPU slots it may use."""

    worker: str
    host: str
    lease_s: float = 30.0
    skip_locked: bool = True  # False is the serializing peer, kept for the benchmark
    # The connection is the worker's own: its planner may be tuned for the claim (see
    # _tune_planner). Off for in-process callers (tests) whose connection serves other queries.
    owns_connection: bool = False


# One statement claims: free GPU slots of this host, organizations with a free run slot, the
# runnable jobs (priority, then age), a run slot per job and a GPU per GPU job, all locked with
# SKIP LOCKED (or waited for, in the peer); then the jobs go running and their attempt is logged.
# Jobs locked but left unpaired (no slot or GPU left) are released at the statement's commit.
CLAIM_SQL = """
WITH gpus AS (
    SELECT g.id, g.index, row_number() OVER (ORDER BY g.index) AS gpu_rn FROM (
        SELECT g.id, g.index FROM jobs_gpu g
        WHERE g.host = %(host)s AND g.active
          -- A per-GPU probe (OFFSET 0), never a join: see the free-slot check below.
          AND NOT EXISTS (SELECT 1 FROM jobs_job j WHERE j.gpu_id = g.id AND j.state = 'running' OFFSET 0)
        ORDER BY g.index LIMIT {limit}
        FOR UPDATE OF g {skip}
    ) g
), gpu_spent AS (
    SELECT q.organization_id FROM jobs_organizationquota q
    JOIN (SELECT organization_id, sum(gpu_seconds) AS s FROM jobs_usageday
          WHERE day = (clock_timestamp() AT TIME ZONE 'UTC')::date GROUP BY organization_id) u USING (organization_id)
    WHERE u.s >= q.daily_gpu_seconds
), picked AS (
    SELECT j.id, j.organization_id, j.needs_gpu, j.priority, j.created_at FROM jobs_job j
    WHERE j.state IN ('queued', 'retrying') AND j.run_after <= clock_timestamp() {kinds}
      -- OFFSET 0 keeps this a per-row probe: as a join the planner, when statistics lag, read
      -- every free slot and every queued job, then sorted (2 ms a claim at 5,000 queued). The GPU
      -- check as a join read every job in the table once its statistics said it was empty.
      AND EXISTS (SELECT 1 FROM jobs_runslot s JOIN jobs_organizationquota q USING (organization_id)
                  WHERE s.organization_id = j.organization_id AND s.job_id IS NULL
                    AND s.number < q.max_concurrent_jobs OFFSET 0)
      AND (NOT j.needs_gpu OR (EXISTS (SELECT 1 FROM gpus)
                               AND j.organization_id NOT IN (SELECT organization_id FROM gpu_spent)))
    ORDER BY j.priority DESC, j.created_at, j.id
    LIMIT {limit}
    FOR UPDATE OF j {skip}
), slots AS (
    SELECT s.id, s.organization_id, s.number,
           row_number() OVER (PARTITION BY s.organization_id ORDER BY s.number) AS org_rn
    FROM (SELECT DISTINCT organization_id FROM picked) o
    CROSS JOIN LATERAL (
        SELECT s.id, s.organization_id, s.number FROM jobs_runslot s
        WHERE s.organization_id = o.organization_id AND s.job_id IS NULL
          AND s.number < (SELECT max_concurrent_jobs FROM jobs_organizationquota q
                          WHERE q.organization_id = o.organization_id)
        ORDER BY s.number LIMIT {limit}
        FOR UPDATE OF s {skip}
    ) s
), with_slot AS (
    SELECT p.*, s.id AS slot_id, s.number AS slot_number,
           CASE WHEN p.needs_gpu THEN
               row_number() OVER (PARTITION BY p.needs_gpu ORDER BY p.priority DESC, p.created_at, p.id) END AS gpu_rn
    FROM (SELECT p.*, row_number() OVER (PARTITION BY p.organization_id
                                         ORDER BY p.priority DESC, p.created_at, p.id) AS org_rn
          FROM picked p) p
    JOIN slots s ON s.organization_id = p.organization_id AND s.org_rn = p.org_rn
), gpus_wanted AS (
    -- The GPU slots are read (and locked) only when a GPU job was picked: the uncorrelated
    -- condition is checked once, before the scan, so a CPU claim leaves them to other claimers.
    SELECT gpus.* FROM gpus WHERE (SELECT bool_or(needs_gpu) FROM picked)
), chosen AS (
    SELECT w.id, w.slot_id, w.slot_number, g.id AS gpu_id, g.index AS gpu_index
    FROM with_slot w
    LEFT JOIN gpus_wanted g ON w.needs_gpu AND g.gpu_rn = w.gpu_rn
    WHERE NOT w.needs_gpu OR g.id IS NOT NULL
), taken AS (
    UPDATE jobs_runslot s SET job_id = c.id FROM chosen c WHERE s.id = c.slot_id
), claimed AS (
    UPDATE jobs_job j SET state = 'running', attempts = j.attempts + 1, worker = %(worker)s, progress = 0,
           started_at = clock_timestamp(), heartbeat_at = clock_timestamp(), cancel_requested = false,
           lease_expires_at = clock_timestamp() + make_interval(secs => %(lease_s)s),
           gpu_id = c.gpu_id, gpu_index = c.gpu_index, run_slot = c.slot_number
    -- The ids once more as an array: with it the planner looks the rows up from `chosen` even when
    -- statistics say the table is empty (as after all its rows were deleted and it was vacuumed),
    -- instead of reading every job in the table for each claim (1.6 vs 0.6 ms at 5,000 queued).
    FROM chosen c WHERE j.id = c.id AND j.id = ANY (ARRAY(SELECT id FROM chosen))
    RETURNING j.*
), logged AS (
    INSERT INTO jobs_joblog (job_id, at, level, attempt, message)
    SELECT id, clock_timestamp(), 'info', attempts,
           format('attempt %%s/%%s on %%s', attempts, max_attempts, %(worker)s)
           || CASE WHEN gpu_id IS NOT NULL THEN format(', GPU %%s', gpu_index) ELSE '' END
    FROM claimed
)
SELECT {columns} FROM claimed ORDER BY priority DESC, created_at, id
"""


def claim_jobs(*, claimer: Claimer, limit: int = 1, kinds: list[str] | None = None) -> list[Job]:
    """Claim up to `limit` runnable jobs, highest priority then oldest first, in one statement.

    Rows another claimer holds (jobs, run slots, GPU slots) are skipped, not waited for.
    Organizations with no free run slot (max_concurrent_jobs), or out of GPU-seconds for GPU jobs,
    are passed over. GPU jobs get one free GPU slot of this host each. Each claim counts one
    attempt and starts a lease of `lease_s` seconds."""
    sql = _claim_sql(claimer.skip_locked, int(limit), bool(kinds))
    params = {"host": claimer.host, "worker": claimer.worker, "lease_s": float(claimer.lease_s)}
    if kinds:
        params["kinds"] = list(kinds)
    # One statement, autocommitted (or part of the caller's transaction): a claim is atomic alone.
    if claimer.owns_connection:
        _tune_planner()
    rows = execute_prepared(sql=sql, params=params)
    jobs = [_job_from_row(row) for row in rows]
    publish_jobs(jobs)
    return jobs


_tuned_connections: "weakref.WeakSet" = weakref.WeakSet()


def _tune_planner() -> None:
    """Queue statistics lag a burst of submissions (autovacuum analyzes once a minute): believing
    the queue empty, the planner reads every queued row (seq or bitmap scan) and sorts it, 5-13 ms
    a claim at 2,000 queued, instead of walking the claim index in order (~0.5 ms). On a worker's
    own connection only index scans are left to it: its other queries are key lookups. Once per
    connection (a reconnect gets it again)."""
    connection.ensure_connection()
    raw = connection.connection
    if raw not in _tuned_connections:
        raw.execute("SET enable_bitmapscan = off; SET enable_seqscan = off")
        _tuned_connections.add(raw)


def untune_planner() -> None:
    """Undo _tune_planner on this connection (a worker run in-process hands it back as it was)."""
    raw = connection.connection
    if raw is not None and raw in _tuned_connections:
        _tuned_connections.discard(raw)
        with contextlib.suppress(psycopg.Error):  # a broken connection is dropped anyway
            raw.execute("RESET enable_bitmapscan; RESET enable_seqscan")


@functools.cache
def _claim_sql(skip_locked: bool, limit: int, with_kinds: bool) -> str:
    # The limit and whether kinds filter are part of the text, so each variant gets a plan of its own.
    return CLAIM_SQL.format(
        skip="SKIP LOCKED" if skip_locked else "",
        limit=limit,
        kinds="AND j.kind = ANY(%(kinds)s::text[])" if with_kinds else "",
        columns=_job_columns(),
    )


@functools.cache
def _complete_sql() -> str:
    return COMPLETE_SQL.format(columns=_job_columns(), shards=USAGE_SHARDS)


@functools.cache
def _job_columns() -> str:
    return ", ".join(f.column for f in Job._meta.concrete_fields)


def _job_from_row(row) -> Job:
    """A Job from the `{columns}` of a hot statement, as the ORM would build it (a raw cursor gives
    JSON as text: the fields' from_db_value decode it)."""
    fields = Job._meta.concrete_fields
    values = [
        f.from_db_value(value, None, connection) if hasattr(f, "from_db_value") else value
        for f, value in zip(fields, row, strict=True)
    ]
    return Job.from_db(connection.alias, [f.attname for f in fields], values)


def heartbeat(*, job_id: int, worker: str, lease_s: float, progress: float | None = None) -> bool:
    """Extend the lease (and store progress); True when cancellation was requested.

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
    # of=self: a plain FOR UPDATE over the join would lock the organization's row too, so every
    # failure, cancel and sweep of one organization would queue behind the others.
    job = Job.objects.select_for_update(of=("self",)).select_related("organization").filter(pk=job_id).first()
    if job is None or job.state != JobState.RUNNING or job.worker != worker:
        raise LeaseLost(f"job {job_id} is no longer held by {worker}")
    return job


def _end_attempt(job: Job, now) -> float:
    """Close the current attempt: GPU-seconds are accounted, the run slot, GPU slot and lease are
    released."""
    used = (now - job.started_at).total_seconds() if job.gpu_id and job.started_at else 0.0
    job.gpu_seconds += used
    job.gpu, job.lease_expires_at = None, None
    if job.run_slot is not None:
        RunSlot.objects.filter(organization_id=job.organization_id, number=job.run_slot, job_id=job.pk).update(
            job_id=None
        )
        job.run_slot = None
    return used


# Success in one statement (the hot path of every job): only while this worker still holds the
# job; GPU-seconds of this attempt added; run slot freed; the day's usage counted. It says whether
# the job has children, so the DAG step runs only when there is one.
COMPLETE_SQL = """
WITH done AS (
    UPDATE jobs_job j SET state = 'succeeded', progress = 100, result = %(result)s::jsonb, error = '',
           finished_at = clock_timestamp(), gpu_id = NULL, lease_expires_at = NULL, run_slot = NULL,
           gpu_seconds = j.gpu_seconds + a.used
    -- The attempt as claimed (read by primary key: the planner may otherwise walk the running index).
    FROM (SELECT id, run_slot, CASE WHEN gpu_id IS NOT NULL THEN extract(epoch FROM clock_timestamp() - started_at)
                                    ELSE 0 END AS used
          FROM jobs_job WHERE id = %(id)s) a
    WHERE j.id = a.id AND j.worker = %(worker)s AND j.state = 'running'
    RETURNING j.*, a.used AS attempt_gpu_seconds, a.run_slot AS held_slot
), freed AS (
    UPDATE jobs_runslot s SET job_id = NULL FROM done
    WHERE s.organization_id = done.organization_id AND s.number = done.held_slot AND s.job_id = done.id
), counted AS (
    -- On the counter row of the run slot's shard (models.USAGE_SHARDS): see UsageDay.
    INSERT INTO jobs_usageday (organization_id, user_id, day, shard, jobs, succeeded, gpu_seconds)
    SELECT organization_id, created_by_id, (now() AT TIME ZONE 'UTC')::date,
           coalesce(held_slot, 0) %% {shards}, 1, 1, attempt_gpu_seconds FROM done
    ON CONFLICT (organization_id, user_id, day, shard) DO UPDATE SET
      jobs = jobs_usageday.jobs + 1,
      succeeded = jobs_usageday.succeeded + 1,
      gpu_seconds = jobs_usageday.gpu_seconds + EXCLUDED.gpu_seconds
)
SELECT {columns}, EXISTS (SELECT 1 FROM jobs_job_parents p WHERE p.to_job_id = done.id) FROM done
"""


def complete_job(*, job_id: int, worker: str, result: dict, artifacts: list[tuple[str, str, bytes]] = ()) -> Job:
    """Record success (result, artifacts) if this worker still owns the job; release its children.

    Without artifacts it is one autocommitted statement (the common, hot case); with them, one
    transaction. Children are released after the success is committed, so a child with two
    parents finishing at once is seen by the later of the two (a worker dying in between is
    covered by the sweep's `release_ready_jobs`)."""
    sql = _complete_sql()
    params = {"id": job_id, "worker": worker, "result": json.dumps(result, cls=DjangoJSONEncoder)}
    with transaction.atomic() if artifacts else contextlib.nullcontext():
        rows = execute_prepared(sql=sql, params=params)
        if not rows:
            raise LeaseLost(f"job {job_id} is no longer held by {worker}")
        job = _job_from_row(rows[0][:-1])
        if artifacts:
            _store_artifacts(job, artifacts)
    if rows[0][-1]:
        with transaction.atomic():
            release_children(job=job)
    publish_job(job)
    return job


def _store_artifacts(job: Job, artifacts: list[tuple[str, str, bytes]]) -> None:
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


@transaction.atomic
def fail_job(*, job_id: int, worker: str, error: str, permanent: bool = False) -> Job:
    """Record a failed attempt: retried after a backoff, or failed for good.

    Retried while attempts remain (and the error is not `permanent`); failed for good, it cancels
    the jobs downstream."""
    job, now = _owned(job_id, worker), timezone.now()
    used = _end_attempt(job, now)
    _settle_failure(job, error=error, now=now, permanent=permanent)
    record_usage(job=job, gpu_seconds=used, finished=job.is_terminal, succeeded=False)
    return job


@transaction.atomic
def stop_canceled_job(*, job_id: int, worker: str) -> Job:
    """The worker stopped a job whose cancellation was requested."""
    job, now = _owned(job_id, worker), timezone.now()
    used = _end_attempt(job, now)
    job.state, job.finished_at = JobState.CANCELED, now
    job.save()
    add_log(job=job, message=f"stopped at {job.progress:.0f}%: {job.cancel_reason}", level="warning")
    record_usage(job=job, gpu_seconds=used, finished=True, succeeded=False)
    cancel_descendants(job=job, reason=f"parent job {job.pk} canceled")
    publish_job(job)
    return job


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff after the `attempts`-th failed attempt, capped."""
    base = float(settings.JOBS_RETRY_BACKOFF_S)
    cap = float(settings.JOBS_RETRY_BACKOFF_MAX_S)
    return min(cap, base * 2 ** max(0, attempts - 1))


def _settle_failure(job: Job, *, error: str, now, permanent: bool = False) -> None:
    job.error = error[:5000]
    if job.cancel_requested:
        job.state, job.finished_at = JobState.CANCELED, now
        add_log(job=job, message=f"canceled: {job.cancel_reason}", level="warning")
    elif permanent:
        job.state, job.finished_at = JobState.FAILED, now
        add_log(job=job, message=f"attempt {job.attempts} failed: {error[:500]}; no retry can fix this", level="error")
    elif job.attempts < job.max_attempts:
        delay = retry_delay_s(job.attempts)
        job.state, job.run_after = JobState.RETRYING, now + timedelta(seconds=delay)
        message = f"attempt {job.attempts} failed: {error[:500]}; retrying in {delay:g} s"
        add_log(job=job, message=message, level="error")
    else:
        job.state, job.finished_at = JobState.FAILED, now
        add_log(job=job, message=f"attempt {job.attempts} failed: {error[:500]}; no attempts left", level="error")
    job.save()
    if job.state == JobState.FAILED:
        record_event(organization=job.organization, kind="job.failed", subject=job, payload={"error": job.error[:500]})
    if job.is_terminal:
        cancel_descendants(job=job, reason=f"parent job {job.pk} {job.state}")
    publish_job(job)


def sweep_expired_leases(*, limit: int = 500) -> list[Job]:
    """Count the attempt of jobs whose lease ran out (their worker died or hung) as failed.

    They are re-queued with backoff, failed when out of attempts, canceled if cancellation was
    asked. Safe to run from several processes at once (rows are claimed with SKIP LOCKED)."""
    sync_run_slots()
    release_ready_jobs()
    with transaction.atomic():
        now = timezone.now()
        expired = list(
            Job.objects.select_for_update(skip_locked=True, of=("self",))  # not the organization: see _owned
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
            record_usage(job=job, gpu_seconds=used, finished=job.is_terminal, succeeded=False)
        return expired
