"""Submitting jobs: one, a batch all or nothing, checked against the organization's quota."""

from django.db import transaction
from django.utils import timezone

from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..exceptions import JobParamsError
from ..geo import footprint_bbox
from ..live_messages import publish_jobs
from ..models import Job, JobState
from .dag import initial_state
from .specs import clean_spec, parents_named
from .usage import check_open_quota

MAX_BATCH = 1000


def _check_submit_quota(organization: Organization, specs: list[dict]) -> None:
    check_open_quota(organization, adding=len(specs), needs_gpu=any(s["needs_gpu"] for s in specs))


@transaction.atomic
def submit_jobs(
    *, organization: Organization, actor, specs: list[dict], event: bool = True, batch: bool | None = None
) -> list[Job]:
    """Create jobs all or nothing, within the organization's quota.

    Each spec is validated (errors name `jobs.<i>.<field>` in a batch: `batch`, by default when
    there is more than one spec); the organization's open-job quota is checked under its quota row
    lock, so concurrent submissions cannot overshoot it. Jobs whose parents have not all succeeded
    wait."""
    if not specs:
        raise JobParamsError("give at least one job", field="jobs")
    if len(specs) > MAX_BATCH:
        raise JobParamsError(f"at most {MAX_BATCH} jobs per batch", field="jobs")
    batch = len(specs) > 1 if batch is None else batch
    checked_inputs = set()  # a batch over one uploaded input checks it once
    known_parents = parents_named(specs=specs, organization=organization)
    cleaned = [
        clean_spec(
            spec,
            organization=organization,
            prefix=f"jobs.{i}." if batch else "",
            checked_inputs=checked_inputs,
            known_parents=known_parents,
        )
        for i, spec in enumerate(specs)
    ]
    _check_submit_quota(organization, cleaned)
    now = timezone.now()
    user = user_or_none(actor)
    jobs = []
    for spec in cleaned:
        state, reason = initial_state(spec["parents"])
        bbox = footprint_bbox(spec["footprint"]) if spec["footprint"] else (None, None, None, None)
        jobs.append(
            Job(
                organization=organization,
                created_by=user,
                template=spec["template"],
                name=spec["name"],
                kind=spec["kind"],
                params=spec["params"],
                needs_gpu=spec["needs_gpu"],
                priority=spec["priority"],
                max_attempts=spec["max_attempts"],
                footprint=spec["footprint"],
                bbox_west=bbox[0],
                bbox_south=bbox[1],
                bbox_east=bbox[2],
                bbox_north=bbox[3],
                state=state,
                cancel_reason=reason,
                finished_at=now if state == JobState.CANCELED else None,
                run_after=now,
            )
        )
    Job.objects.bulk_create(jobs)
    links = [
        Job.parents.through(from_job_id=job.pk, to_job_id=parent.pk)
        for job, spec in zip(jobs, cleaned, strict=True)
        for parent in spec["parents"]
    ]
    Job.parents.through.objects.bulk_create(links)
    publish_jobs(jobs)
    if event:
        record_event(
            organization=organization,
            kind="job.submitted",
            subject=jobs[0] if len(jobs) == 1 else None,
            actor=actor,
            payload={"count": len(jobs), "ids": [j.pk for j in jobs[:100]], "kinds": sorted({j.kind for j in jobs})},
        )
    return jobs


def submit_job(*, organization: Organization, actor, **spec) -> Job:
    """Submit one job described by keyword arguments (see submit_jobs)."""
    return submit_jobs(organization=organization, actor=actor, specs=[spec])[0]
