"""Reads of the job queue, always from the caller's point of view."""

from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum

from missionops.ids import decimal_id
from missionops.models import OPERATING_ROLES
from missionops.tenancy import has_role, organizations_for

from .models import Gpu, GpuSample, Job, JobState, JobTemplate, TileInput, UsageDay


def jobs_visible_to(user) -> QuerySet[Job]:
    return Job.objects.filter(organization__in=organizations_for(user))


def templates_visible_to(user) -> QuerySet[JobTemplate]:
    return JobTemplate.objects.filter(organization__in=organizations_for(user))


def tile_inputs_visible_to(user) -> QuerySet[TileInput]:
    """Uploaded tile inputs of the user's organizations, without their bytes."""
    return TileInput.objects.filter(organization__in=organizations_for(user)).defer("data")


def can_operate_jobs(user, organization) -> bool:
    return has_role(user, organization, *OPERATING_ROLES)


def organization_id_for_job_topic(user, ident: str) -> int | None:
    """Live-topic resolver for `job.<id>`: the job's organization if the user may view it."""
    job_id = decimal_id(ident)
    if job_id is None:
        return None
    return jobs_visible_to(user).filter(pk=job_id).values_list("organization_id", flat=True).first()


def job_counts(user) -> dict[str, int]:
    rows = jobs_visible_to(user).values("state").annotate(n=Count("id"))
    counts = {state: 0 for state in JobState.values}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def gpus_with_latest_sample() -> list[Gpu]:
    """Active GPU slots with their newest sample (attribute `latest`, or None)."""
    return [with_latest_sample(gpu) for gpu in Gpu.objects.filter(active=True)]


def with_latest_sample(gpu: Gpu) -> Gpu:
    gpu.latest = GpuSample.objects.filter(gpu=gpu).order_by("-at").select_related("job").first()
    return gpu


def gpu_samples(*, gpu: Gpu, since: datetime, limit: int = 2000) -> list[GpuSample]:
    return list(GpuSample.objects.filter(gpu=gpu, at__gte=since).order_by("at")[:limit])


def usage(user, *, since, until) -> dict:
    """Jobs finished and GPU-seconds per organization, per user (a leaderboard) and per day."""
    rows = UsageDay.objects.filter(organization__in=organizations_for(user), day__gte=since, day__lte=until)
    totals = Sum("jobs"), Sum("succeeded"), Sum("gpu_seconds")

    def shape(queryset, *keys):
        return [
            {**{k: row[k] for k in keys}, "jobs": row["j"], "succeeded": row["s"], "gpu_seconds": round(row["g"], 3)}
            for row in queryset.annotate(j=totals[0], s=totals[1], g=totals[2])
        ]

    by_org = shape(rows.values("organization__slug").order_by("organization__slug"), "organization__slug")
    by_user = shape(
        # No ordering by a row column here: it would join the GROUP BY and split a user's counter rows.
        rows.values("organization__slug", "user__username").order_by(),
        "organization__slug",
        "user__username",
    )
    by_user.sort(key=lambda r: (-r["gpu_seconds"], -r["jobs"]))
    by_day = shape(
        rows.values("day", "organization__slug").order_by("day", "organization__slug"), "day", "organization__slug"
    )
    rename = {"organization__slug": "organization", "user__username": "user"}
    fix = lambda items: [{rename.get(k, k): v for k, v in item.items()} for item in items]  # noqa: E731
    return {
        "since": since,
        "until": until,
        "organizations": fix(by_org),
        "leaderboard": [{"rank": i + 1, **row} for i, row in enumerate(fix(by_user))],
        "days": fix(by_day),
    }


def footprints(user, *, bbox_filter: Q | None = None, limit: int = 500) -> QuerySet[Job]:
    queryset = jobs_visible_to(user).exclude(footprint=None)
    if bbox_filter is not None:
        queryset = queryset.filter(bbox_filter)
    return queryset.order_by("-created_at")[:limit]


def quotas(user) -> list[dict]:
    """The limits of the caller's organizations, with today's use."""
    from .services import gpu_seconds_today, quota_for

    rows = []
    for organization in organizations_for(user).order_by("slug"):
        quota = quota_for(organization=organization)
        rows.append(
            {
                "organization": organization.slug,
                "max_concurrent_jobs": quota.max_concurrent_jobs,
                "running": Job.objects.filter(organization=organization, state=JobState.RUNNING).count(),
                "max_queued_jobs": quota.max_queued_jobs,
                "daily_gpu_seconds": quota.daily_gpu_seconds,
                "gpu_seconds_today": round(gpu_seconds_today(organization.pk), 3),
            }
        )
    return rows
