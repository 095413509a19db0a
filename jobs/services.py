"""Job lifecycle as operators drive it: submit (single, batch, from a template), cancel, retry,
delete, DAG propagation and quotas. The worker side (claim, heartbeat, finish, sweep) is in
dispatch.py; both are the only code that writes jobs."""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from .exceptions import JobParamsError, JobStateError, QuotaExceeded
from .geo import footprint_bbox, validate_footprint
from .messages import publish_deleted, publish_job
from .models import TERMINAL_STATES, Job, JobKind, JobLog, JobState, OrganizationQuota, TileInput, UsageDay
from .workloads import workload_for

OPEN_STATES = (JobState.WAITING, JobState.QUEUED, JobState.RETRYING)
MAX_BATCH = 1000


def quota_for(organization: Organization) -> OrganizationQuota:
    quota, created = OrganizationQuota.objects.get_or_create(organization=organization)
    if created:
        sync_run_slots(organization.pk)
    return quota


def set_quota(*, organization: Organization, **limits) -> OrganizationQuota:
    """Change an organization's limits (max_concurrent_jobs, max_queued_jobs, daily_gpu_seconds)."""
    quota, _ = OrganizationQuota.objects.update_or_create(organization=organization, defaults=limits)
    sync_run_slots(organization.pk)
    return quota


def sync_run_slots(organization_id: int | None = None) -> None:
    """Create the run slots each quota allows and does not have yet (all organizations, or one),
    and free slots whose job is no longer running.
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
    today = timezone.now().date()
    used = UsageDay.objects.filter(organization_id=organization_id, day=today).aggregate(s=Sum("gpu_seconds"))["s"]
    return used or 0.0


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff after the `attempts`-th failed attempt, capped."""
    base = float(getattr(settings, "JOBS_RETRY_BACKOFF_S", 5.0))
    cap = float(getattr(settings, "JOBS_RETRY_BACKOFF_MAX_S", 600.0))
    return min(cap, base * 2 ** max(0, attempts - 1))


def clean_spec(
    spec: dict,
    *,
    organization: Organization,
    prefix: str = "",
    checked_inputs: set | None = None,
    known_parents: dict[int, Job] | None = None,
) -> dict:
    """One job description, validated: kind, params per kind, footprint, priority, attempts, parents.
    `checked_inputs`: tile inputs already checked (and locked) in this transaction, not queried again.
    `known_parents`: the organization's jobs a batch names as parents, read once (see submit_jobs)."""
    kind = spec.get("kind")
    try:
        workload = workload_for(kind)
    except JobParamsError as error:
        raise JobParamsError(error.message, field=f"{prefix}kind") from None
    try:
        params = workload.validate(spec.get("params") or {})
    except JobParamsError as error:
        raise JobParamsError(error.message, field=f"{prefix}{error.field}") from None
    if params.get("input") is not None and params["input"] not in (checked_inputs or ()):
        _check_tile_input(params["input"], organization=organization, field=f"{prefix}params.input")
        if checked_inputs is not None:
            checked_inputs.add(params["input"])
    footprint = spec.get("footprint")
    if footprint is not None:
        footprint = validate_footprint(footprint, field=f"{prefix}footprint")
    elif workload.needs_footprint:
        raise JobParamsError(f"a {kind} job needs a footprint (GeoJSON Polygon)", field=f"{prefix}footprint")
    priority = spec.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise JobParamsError("priority must be an integer from -100 to 100", field=f"{prefix}priority")
    max_attempts = spec.get("max_attempts", 3)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= 20:
        raise JobParamsError("max_attempts must be an integer from 1 to 20", field=f"{prefix}max_attempts")
    parent_ids = spec.get("parents") or []
    if not isinstance(parent_ids, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in parent_ids):
        raise JobParamsError("parents must be a list of job ids", field=f"{prefix}parents")
    if known_parents is None:
        known_parents = _lock_parents(Job.objects.filter(organization=organization, pk__in=parent_ids))
    parents = [known_parents[p] for p in dict.fromkeys(parent_ids) if p in known_parents]
    missing = sorted(set(parent_ids) - {p.pk for p in parents})
    if missing:
        raise JobParamsError(f"no job {missing[0]} in this organization", field=f"{prefix}parents")
    return {
        "kind": JobKind(kind),
        "params": params,
        "needs_gpu": workload.needs_gpu(params),
        "footprint": footprint,
        "priority": priority,
        "max_attempts": max_attempts,
        "name": str(spec.get("name") or "")[:200],
        "parents": parents,
        "template": spec.get("template"),
    }


def _parents_named(specs: list[dict], organization: Organization) -> dict[int, Job]:
    """The organization's jobs that any spec of a batch names as a parent, in one query (clean_spec
    still checks each spec's list and reports the first id it does not find)."""
    ids = {
        p
        for spec in specs
        if isinstance(spec, dict) and isinstance(spec.get("parents"), list)
        for p in spec["parents"]
        if isinstance(p, int) and not isinstance(p, bool)
    }
    return _lock_parents(Job.objects.filter(organization=organization, pk__in=ids)) if ids else {}


def _lock_parents(parents) -> dict[int, Job]:
    """Parents read under a row lock held to commit (FOR NO KEY UPDATE, in id order): a parent
    failing or succeeding meanwhile either finishes first, and is read in its new state, or waits
    for the new child's commit and then sees its link. Read unlocked, a parent that failed between
    the read and the commit left its new child waiting for ever."""
    return {job.pk: job for job in parents.select_for_update(no_key=True, of=("self",)).order_by("pk")}


def _check_tile_input(input_id: int, *, organization: Organization, field: str) -> None:
    """The uploaded input must be this organization's. The row lock (FOR NO KEY UPDATE, held to
    commit) makes a concurrent tile_inputs.delete_tile_input wait and then see the new job, so an
    input cannot vanish between this check and the job's commit."""
    with transaction.atomic():
        found = TileInput.objects.select_for_update(no_key=True).filter(organization=organization, pk=input_id)
        if not found.exists():
            raise JobParamsError(f"no tile input {input_id} in this organization", field=field)


def _check_submit_quota(organization: Organization, specs: list[dict]) -> None:
    _check_open_quota(organization, adding=len(specs), needs_gpu=any(s["needs_gpu"] for s in specs))


def _check_open_quota(organization: Organization, *, adding: int, needs_gpu: bool, already_open: int = 0) -> None:
    """Under the quota row lock (held to commit, so concurrent submissions and retries cannot
    overshoot): `adding` more open jobs must fit max_queued_jobs, of which `already_open` are
    counted open already (reopened in this transaction); a GPU job needs GPU-seconds left today."""
    quota = OrganizationQuota.objects.select_for_update().get(pk=quota_for(organization).pk)
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


def _initial_state(parents: list[Job]) -> tuple[str, str]:
    for parent in parents:
        if parent.state in (JobState.FAILED, JobState.CANCELED):
            return JobState.CANCELED, f"parent job {parent.pk} {parent.state}"
    if all(p.state == JobState.SUCCEEDED for p in parents):
        return JobState.QUEUED, ""
    return JobState.WAITING, ""


@transaction.atomic
def submit_jobs(
    *, organization: Organization, actor, specs: list[dict], event: bool = True, batch: bool | None = None
) -> list[Job]:
    """Create jobs all or nothing. Each spec is validated (errors name `jobs.<i>.<field>` in a batch:
    `batch`, by default when there is more than one spec); the organization's open-job quota is
    checked under its quota row lock, so concurrent submissions cannot overshoot it. Jobs whose
    parents have not all succeeded wait."""
    if not specs:
        raise JobParamsError("give at least one job", field="jobs")
    if len(specs) > MAX_BATCH:
        raise JobParamsError(f"at most {MAX_BATCH} jobs per batch", field="jobs")
    batch = len(specs) > 1 if batch is None else batch
    checked_inputs = set()  # a batch over one uploaded input checks it once
    known_parents = _parents_named(specs, organization)
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
        state, reason = _initial_state(spec["parents"])
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
    for job in jobs:
        publish_job(job)
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
    return submit_jobs(organization=organization, actor=actor, specs=[spec])[0]


def add_log(job: Job, message: str, *, level: str = "info") -> JobLog:
    from .messages import publish_log

    log = JobLog.objects.create(job=job, message=message, level=level, attempt=job.attempts)
    publish_log(log, organization_id=job.organization_id)
    return log


def _children_of(job_ids):
    return Job.parents.through.objects.filter(to_job_id__in=job_ids).values("from_job_id")


def cancel_descendants(job: Job, *, reason: str) -> list[Job]:
    """Cancel every not-yet-finished job downstream of `job` (their parent will never succeed).
    Each says which parent stopped it: `parent job <id> <state>`."""
    canceled, frontier, now = [], [(job.pk, reason)], timezone.now()
    while frontier:
        parent_pk, why = frontier.pop(0)
        children = list(
            Job.objects.select_for_update()
            .filter(pk__in=_children_of([parent_pk]))
            .exclude(state__in=TERMINAL_STATES)
            .order_by("pk")
        )
        for child in children:
            if child.state == JobState.RUNNING:  # only after a parent was retried; stop it too
                child.cancel_requested, child.cancel_reason = True, why
                child.save(update_fields=["cancel_requested", "cancel_reason"])
            else:
                child.state, child.cancel_reason, child.finished_at = JobState.CANCELED, why, now
                child.save(update_fields=["state", "cancel_reason", "finished_at"])
                add_log(child, f"canceled: {why}", level="warning")
                frontier.append((child.pk, f"parent job {child.pk} canceled"))
            publish_job(child)
            canceled.append(child)
    return canceled


def release_children(job: Job) -> list[Job]:
    """After `job` succeeded: children whose parents have now all succeeded become queued."""
    waiting = list(
        Job.objects.select_for_update().filter(pk__in=_children_of([job.pk]), state=JobState.WAITING).order_by("pk")
    )
    if not waiting:
        return []
    blocked = set(
        Job.parents.through.objects.filter(from_job_id__in=[c.pk for c in waiting])
        .exclude(to_job__state=JobState.SUCCEEDED)
        .values_list("from_job_id", flat=True)
    )
    released = [child for child in waiting if child.pk not in blocked]
    for child in released:
        child.state, child.run_after = JobState.QUEUED, timezone.now()
        child.save(update_fields=["state", "run_after"])
        publish_job(child)
    return released


@transaction.atomic
def release_ready_jobs() -> list[Job]:
    """Waiting jobs whose parents have all succeeded become queued. A parent's success releases
    them at once; this catches a worker that died between committing the success and releasing
    (the sweep runs it). Rows another transaction holds are left for the next sweep."""
    unfinished_parent = Job.parents.through.objects.exclude(to_job__state=JobState.SUCCEEDED).values("from_job_id")
    ready = list(
        Job.objects.select_for_update(skip_locked=True)
        .filter(state=JobState.WAITING)
        .exclude(pk__in=unfinished_parent)
        .order_by("pk")
    )
    for job in ready:
        job.state, job.run_after = JobState.QUEUED, timezone.now()
        job.save(update_fields=["state", "run_after"])
        publish_job(job)
    return ready


@transaction.atomic
def cancel_job(*, job: Job, actor, reason: str = "") -> Job:
    """A job not yet running is canceled at once; a running one is asked to stop: its worker sees
    the request at its next heartbeat or progress report (within seconds) and stops cleanly.
    Either way, jobs downstream in the DAG are canceled with the reason."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.is_terminal:
        raise JobStateError(f"job {job.pk} is already {job.state}", field="state")
    if job.cancel_requested:  # asked already, its worker is stopping it: not logged again
        return job
    who = getattr(actor, "username", None) or "system"
    reason = reason or f"canceled by {who}"
    if job.state == JobState.RUNNING:
        job.cancel_requested, job.cancel_reason = True, reason
        job.save(update_fields=["cancel_requested", "cancel_reason"])
        add_log(job, f"cancel requested: {reason}", level="warning")
    else:
        job.state, job.cancel_reason, job.finished_at = JobState.CANCELED, reason, timezone.now()
        job.save(update_fields=["state", "cancel_reason", "finished_at"])
        add_log(job, f"canceled: {reason}", level="warning")
        cancel_descendants(job, reason=f"parent job {job.pk} canceled")
    publish_job(job)
    record_event(
        organization=job.organization, kind="job.canceled", subject=job, actor=actor, payload={"reason": reason}
    )
    return job


@transaction.atomic
def retry_job(*, job: Job, actor) -> Job:
    """Put a failed or canceled job back in the queue with fresh attempts; jobs downstream that were
    canceled only because of it are reopened (they wait for it again)."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    if not job.can_retry():
        raise JobStateError(f"job {job.pk} is {job.state}; only failed or canceled jobs can be retried", field="state")
    # Parents locked as at submission (see _lock_parents): one failing meanwhile is seen here.
    state, reason = _initial_state(list(_lock_parents(job.parents.all()).values()))
    if state == JobState.CANCELED:
        raise JobStateError(f"cannot retry job {job.pk}: {reason}; retry that parent first", field="parents")
    _reopen(job, state=state)
    add_log(job, f"retried by {getattr(actor, 'username', 'system')}")
    reopened, frontier = 1, [job.pk]
    while frontier:
        children = list(
            Job.objects.select_for_update()
            .filter(pk__in=_children_of(frontier), state=JobState.CANCELED, cancel_reason__startswith="parent job ")
            .order_by("pk")
        )
        causes, frontier = {f"parent job {pk} " for pk in frontier}, []
        for child in children:
            if not any(child.cancel_reason.startswith(cause) for cause in causes):
                continue
            # Another parent failed or was canceled too: the child stays canceled, now for that one
            # (so retrying that parent reopens it).
            state, reason = _initial_state(list(_lock_parents(child.parents.all()).values()))
            if state == JobState.CANCELED:
                child.cancel_reason = reason
                child.save(update_fields=["cancel_reason"])
                continue
            _reopen(child, state=JobState.WAITING)
            reopened += 1
            frontier.append(child.pk)
    _check_open_quota(job.organization, adding=reopened, needs_gpu=job.needs_gpu, already_open=reopened)
    record_event(organization=job.organization, kind="job.retried", subject=job, actor=actor)
    return job


def _reopen(job: Job, *, state: str) -> None:
    job.state, job.attempts, job.error, job.result, job.progress = state, 0, "", None, 0.0
    job.cancel_requested, job.cancel_reason, job.finished_at, job.run_after = False, "", None, timezone.now()
    job.worker, job.gpu, job.lease_expires_at = "", None, None
    job.save()
    publish_job(job)


@transaction.atomic
def delete_jobs(*, jobs: list[Job], actor) -> int:
    """Delete finished jobs (with their logs and artifacts). Refuses, writing nothing, if any is not finished.
    The states are read again under row locks: a job retried since the caller read it is open again."""
    jobs = list(
        Job.objects.select_for_update(of=("self",))  # not the organization's row: see dispatch._owned
        .select_related("organization")
        .filter(pk__in=[j.pk for j in jobs])
        .order_by("pk")
    )
    unfinished = [j for j in jobs if not j.is_terminal]
    if unfinished:
        job = unfinished[0]
        raise JobStateError(f"job {job.pk} is {job.state}, not finished; cancel it first", field="state")
    if not jobs:
        return 0
    organization = jobs[0].organization
    Job.objects.filter(pk__in=[j.pk for j in jobs]).delete()
    publish_deleted(jobs)
    record_event(
        organization=organization,
        kind="job.deleted",
        actor=actor,
        payload={"ids": [j.pk for j in jobs[:100]], "count": len(jobs)},
    )
    return len(jobs)


def record_usage(job: Job, *, gpu_seconds: float, finished: bool, succeeded: bool) -> None:
    """Add one attempt's GPU-seconds (and the job, once it is finished) to its owner's day. Failures
    and cancels are rare next to successes: they all count on shard 0 (see UsageDay)."""
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


@transaction.atomic
def save_template(*, organization: Organization, actor, template=None, cron: str | None = None, **fields):
    """Create or change a job template; its spec is validated as a job would be. `cron` (5 fields,
    UTC) schedules it through django-celery-beat; an empty string unschedules it."""
    from .models import JobTemplate
    from .schedules import set_template_schedule

    current = {}
    if template is not None:
        current = {k: getattr(template, k) for k in ("name", "kind", "params", "priority", "max_attempts", "footprint")}
    merged = {**current, **fields}
    name = (merged.get("name") or "").strip()
    if not name:
        raise JobParamsError("a template needs a name", field="name")
    clash = JobTemplate.objects.filter(organization=organization, name=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise JobStateError(f"template {name!r} already exists", field="name")
    spec = clean_spec({**merged, "parents": []}, organization=organization)
    values = {k: spec[k] for k in ("kind", "params", "priority", "max_attempts", "footprint")}
    if template is None:
        user = user_or_none(actor)
        template = JobTemplate.objects.create(organization=organization, created_by=user, name=name, **values)
        kind = "job_template.created"
    else:
        for key, value in {**values, "name": name}.items():
            setattr(template, key, value)
        template.save()
        kind = "job_template.changed"
    if cron is not None:
        set_template_schedule(template=template, cron=cron)
    record_event(organization=organization, kind=kind, subject=template, actor=actor, payload={"cron": cron or ""})
    return template


@transaction.atomic
def delete_template(*, template, actor) -> None:
    from .schedules import set_template_schedule

    set_template_schedule(template=template, cron=None)
    record_event(organization=template.organization, kind="job_template.deleted", subject=template, actor=actor)
    template.delete()


def submit_from_template(*, template, actor, overrides: dict | None = None) -> Job:
    spec = {
        "kind": template.kind,
        "params": {**template.params, **((overrides or {}).get("params") or {})},
        "priority": (overrides or {}).get("priority", template.priority),
        "max_attempts": template.max_attempts,
        "footprint": template.footprint,
        "name": (overrides or {}).get("name") or template.name,
        "template": template,
    }
    return submit_jobs(organization=template.organization, actor=actor, specs=[spec])[0]
