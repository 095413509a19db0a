"""Quotas and usage: an organization's limits, its run slots, the open-job and GPU-seconds checks
made under the quota row lock, and the GPU-seconds counted per day."""

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from missionops.models import Organization

from ..exceptions import QuotaExceeded
from ..models import Job, JobState, OrganizationQuota, UsageDay

OPEN_STATES = (JobState.WAITING, JobState.QUEUED, JobState.RETRYING)


def quota_for(*, organization: Organization) -> OrganizationQuota:
    """The organization's quota, created with the default limits (and its run slots) on first use."""
    quota, created = OrganizationQuota.objects.get_or_create(organization=organization)
    if created:
        sync_run_slots(organization_id=organization.pk)
    return quota


def set_quota(*, organization: Organization, **limits) -> OrganizationQuota:
    """Change an organization's limits (max_concurrent_jobs, max_queued_jobs, daily_gpu_seconds)."""
    quota, _ = OrganizationQuota.objects.update_or_create(organization=organization, defaults=limits)
    sync_run_slots(organization_id=organization.pk)
    return quota


def sync_run_slots(*, organization_id: int | None = None) -> None:
    """Create the run slots each quota allows (all organizations, or one); free those of stopped jobs.

    Called where quotas change (set_quota, quota_for, the admin) and by every worker's lease sweep."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO jobs_runslot (organization_id, number)
            SELECT q.organization_id, n FROM jobs_organizationquota q
            CROSS JOIN LATERAL generate_series(0, q.max_concurrent_jobs - 1) AS n
            WHERE (%(org)s::bigint IS NULL OR q.organization_id = %(org)s::bigint)
              AND q.max_concurrent_jobs > (SELECT count(*) FROM jobs_runslot s
                                           WHERE s.organization_id = q.organization_id)
            ON CONFLICT (organization_id, number) DO NOTHING
            """,
            {"org": organization_id},
        )
        # A job deleted while running (admin, cascade) would hold its slot for ever.
        cursor.execute(
            """
            UPDATE jobs_runslot s SET job_id = NULL
            FROM (SELECT o.id, o.job_id FROM jobs_runslot o
                  WHERE o.job_id IS NOT NULL AND (%(org)s::bigint IS NULL OR o.organization_id = %(org)s::bigint)
                    AND NOT EXISTS (SELECT 1 FROM jobs_job j WHERE j.id = o.job_id AND j.state = 'running'
                                    AND j.organization_id = o.organization_id AND j.run_slot = o.number)) orphan
            -- Same job id as seen: a slot taken meanwhile by a new claim is left alone.
            WHERE s.id = orphan.id AND s.job_id = orphan.job_id
            """,
            {"org": organization_id},
        )


def gpu_seconds_today(organization_id: int) -> float:
    """GPU seconds the organization used today (UTC)."""
    today = timezone.now().date()
    used = UsageDay.objects.filter(organization_id=organization_id, day=today).aggregate(s=Sum("gpu_seconds"))["s"]
    return used or 0.0


def check_open_quota(organization: Organization, *, adding: int, needs_gpu: bool, already_open: int = 0) -> None:
    """Under the quota row lock (held to commit, so concurrent submissions and retries cannot
    overshoot): `adding` more open jobs must fit max_queued_jobs, of which `already_open` are
    counted open already (reopened in this transaction); a GPU job needs GPU-seconds left today."""
    quota = OrganizationQuota.objects.select_for_update().get(pk=quota_for(organization=organization).pk)
    open_jobs = Job.objects.filter(organization=organization, state__in=OPEN_STATES).count() - already_open
    if open_jobs + adding > quota.max_queued_jobs:
        raise QuotaExceeded(
            f"max_queued_jobs is {quota.max_queued_jobs}: {open_jobs} open, {adding} more refused",
            limit="max_queued_jobs",
        )
    if needs_gpu:
        used = gpu_seconds_today(organization.pk)
        if used >= quota.daily_gpu_seconds:
            raise QuotaExceeded(
                f"daily_gpu_seconds is {quota.daily_gpu_seconds:g}: {used:.0f} used today (UTC)",
                limit="daily_gpu_seconds",
            )


def record_usage(*, job: Job, gpu_seconds: float, finished: bool, succeeded: bool) -> None:
    """Add one attempt's GPU-seconds (and the job, once it is finished) to its owner's day.

    Failures and cancels are rare next to successes: they all count on shard 0 (see UsageDay)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO jobs_usageday (organization_id, user_id, day, shard, jobs, succeeded, gpu_seconds)
            VALUES (%s, %s, (now() AT TIME ZONE 'UTC')::date, 0, %s, %s, %s)
            ON CONFLICT (organization_id, user_id, day, shard) DO UPDATE SET
              jobs = jobs_usageday.jobs + EXCLUDED.jobs,
              succeeded = jobs_usageday.succeeded + EXCLUDED.succeeded,
              gpu_seconds = jobs_usageday.gpu_seconds + EXCLUDED.gpu_seconds
            """,
            [job.organization_id, job.created_by_id, int(finished), int(succeeded), gpu_seconds],
        )
