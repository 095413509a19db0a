"""The job DAG: parents read under lock, a new or reopened job's state from its parents, and
what a parent's end does downstream (children canceled or released)."""

from django.db import transaction
from django.utils import timezone

from ..live_messages import publish_job, publish_jobs
from ..models import TERMINAL_STATES, Job, JobState
from .logs import add_log


def lock_parents(parents) -> dict[int, Job]:
    """Parents read under a row lock held to commit (FOR NO KEY UPDATE, in id order): a parent
    failing or succeeding meanwhile either finishes first, and is read in its new state, or waits
    for the new child's commit and then sees its link. Read unlocked, a parent that failed between
    the read and the commit left its new child waiting for ever."""
    return {job.pk: job for job in parents.select_for_update(no_key=True, of=("self",)).order_by("pk")}


def initial_state(parents: list[Job]) -> tuple[str, str]:
    """The state a new job starts in given its parents (queued, waiting, or canceled with why)."""
    for parent in parents:
        if parent.state in (JobState.FAILED, JobState.CANCELED):
            return JobState.CANCELED, f"parent job {parent.pk} {parent.state}"
    if all(p.state == JobState.SUCCEEDED for p in parents):
        return JobState.QUEUED, ""
    return JobState.WAITING, ""


def children_of(job_ids):
    """The ids of the jobs that depend on any of `job_ids` (a subquery)."""
    return Job.parents.through.objects.filter(to_job_id__in=job_ids).values("from_job_id")


def cancel_descendants(*, job: Job, reason: str) -> list[Job]:
    """Cancel every not-yet-finished job downstream of `job` (their parent will never succeed).

    Each says which parent stopped it: `parent job <id> <state>`."""
    canceled, frontier, now = [], [(job.pk, reason)], timezone.now()
    while frontier:
        parent_pk, why = frontier.pop(0)
        children = list(
            Job.objects.select_for_update()
            .filter(pk__in=children_of([parent_pk]))
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
                add_log(job=child, message=f"canceled: {why}", level="warning")
                frontier.append((child.pk, f"parent job {child.pk} canceled"))
            publish_job(child)
            canceled.append(child)
    return canceled


def release_children(*, job: Job) -> list[Job]:
    """After `job` succeeded: children whose parents have now all succeeded become queued."""
    waiting = list(
        Job.objects.select_for_update().filter(pk__in=children_of([job.pk]), state=JobState.WAITING).order_by("pk")
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
    publish_jobs(released)
    return released


@transaction.atomic
def release_ready_jobs() -> list[Job]:
    """Queue the waiting jobs whose parents have all succeeded.

    A parent's success releases them at once; this catches a worker that died between committing
    the success and releasing (the sweep runs it). Rows another transaction holds are left for the
    next sweep."""
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
    publish_jobs(ready)
    return ready
