"""What operators do to submitted jobs: cancel, retry (reopening the jobs downstream) and delete."""

from django.db import transaction
from django.utils import timezone

from missionops.services import record_event

from ..exceptions import JobStateError
from ..live_messages import publish_deleted, publish_job
from ..models import Job, JobState
from .dag import cancel_descendants, children_of, initial_state, lock_parents
from .logs import add_log
from .usage import check_open_quota


@transaction.atomic
def cancel_job(*, job: Job, actor, reason: str = "") -> Job:
    """Cancel a job, or ask its worker to stop it if it is running; jobs downstream are canceled.

    A job not yet running is canceled at once; a running one is asked to stop: its worker sees
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
        add_log(job=job, message=f"cancel requested: {reason}", level="warning")
    else:
        job.state, job.cancel_reason, job.finished_at = JobState.CANCELED, reason, timezone.now()
        job.save(update_fields=["state", "cancel_reason", "finished_at"])
        add_log(job=job, message=f"canceled: {reason}", level="warning")
        cancel_descendants(job=job, reason=f"parent job {job.pk} canceled")
    publish_job(job)
    record_event(
        organization=job.organization, kind="job.canceled", subject=job, actor=actor, payload={"reason": reason}
    )
    return job


@transaction.atomic
def retry_job(*, job: Job, actor) -> Job:
    """Put a failed or canceled job back in the queue with fresh attempts.

    Jobs downstream that were canceled only because of it are reopened (they wait for it again)."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    if not job.can_retry():
        raise JobStateError(f"job {job.pk} is {job.state}; only failed or canceled jobs can be retried", field="state")
    # Parents locked as at submission (see lock_parents): one failing meanwhile is seen here.
    state, reason = initial_state(list(lock_parents(job.parents.all()).values()))
    if state == JobState.CANCELED:
        raise JobStateError(f"cannot retry job {job.pk}: {reason}; retry that parent first", field="parents")
    _reopen(job, state=state)
    add_log(job=job, message=f"retried by {getattr(actor, 'username', 'system')}")
    reopened, frontier = 1, [job.pk]
    while frontier:
        children = list(
            Job.objects.select_for_update()
            .filter(pk__in=children_of(frontier), state=JobState.CANCELED, cancel_reason__startswith="parent job ")
            .order_by("pk")
        )
        causes, frontier = {f"parent job {pk} " for pk in frontier}, []
        for child in children:
            if not any(child.cancel_reason.startswith(cause) for cause in causes):
                continue
            # Another parent failed or was canceled too: the child stays canceled, now for that one
            # (so retrying that parent reopens it).
            state, reason = initial_state(list(lock_parents(child.parents.all()).values()))
            if state == JobState.CANCELED:
                child.cancel_reason = reason
                child.save(update_fields=["cancel_reason"])
                continue
            _reopen(child, state=JobState.WAITING)
            reopened += 1
            frontier.append(child.pk)
    check_open_quota(job.organization, adding=reopened, needs_gpu=job.needs_gpu, already_open=reopened)
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
    """Delete finished jobs (with their logs and artifacts); refused, writing nothing, if one is not.

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
