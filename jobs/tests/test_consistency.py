"""The DAG, quotas and deletes stay consistent when operators and workers act at once: a child
submitted while its parent fails, a retry over a child with another failed parent, a delete of a
job retried meanwhile, retries against max_queued_jobs, and locks that stay on the job's row."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jobs import services
from jobs.exceptions import JobStateError, QuotaExceeded
from jobs.models import Job, JobState
from jobs.services import dispatch, submission


def in_thread(function):
    """Run `function` on its own connection; returns the thread and where its outcome lands."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except Exception as error:  # reported to the test, not lost in the thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_blocked_or_done(thread, timeout_s: float = 5.0) -> bool:
    """Until another backend of this database waits on a row lock (True), or `thread` ends (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_child_submitted_while_its_parent_fails_is_canceled_not_left_waiting(
    owner, org_a, submit, claimer, monkeypatch
):
    """The parent fails between the submission reading it and committing the child. Read unlocked,
    the child was left waiting for a parent that would never succeed."""
    parent = submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer)
    real_check = submission._check_submit_quota
    failing = {}

    def parent_fails_meanwhile(organization, specs):
        fail = lambda: dispatch.fail_job(job_id=parent.pk, worker=claimer.worker, error="boom", permanent=True)  # noqa: E731
        failing["thread"], failing["outcome"] = in_thread(fail)
        wait_blocked_or_done(failing["thread"])  # the failure waits for this submission's commit
        return real_check(organization, specs)

    monkeypatch.setattr(submission, "_check_submit_quota", parent_fails_meanwhile)
    child = services.submit_job(organization=org_a, actor=owner, kind="noop", params={}, parents=[parent.pk])
    failing["thread"].join(10)
    assert "error" not in failing["outcome"], failing["outcome"]
    child.refresh_from_db()
    assert child.state == JobState.CANCELED
    assert child.cancel_reason == f"parent job {parent.pk} failed"


@pytest.mark.django_db(transaction=True)
def test_a_child_submitted_just_after_its_parent_failed_starts_canceled(owner, org_a, submit, claimer):
    parent = submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer)
    dispatch.fail_job(job_id=parent.pk, worker=claimer.worker, error="boom", permanent=True)
    child = services.submit_job(organization=org_a, actor=owner, kind="noop", params={}, parents=[parent.pk])
    assert child.state == JobState.CANCELED and child.cancel_reason == f"parent job {parent.pk} failed"


def test_retrying_one_parent_leaves_a_child_canceled_while_its_other_parent_failed(owner, submit, claimer):
    a, b = submit(kind="noop"), submit(kind="noop")
    child = submit(kind="noop", parents=[a.pk, b.pk])
    for _ in (a, b):
        [job] = dispatch.claim_jobs(claimer=claimer)
        dispatch.fail_job(job_id=job.pk, worker=claimer.worker, error="x", permanent=True)
    services.retry_job(job=a, actor=owner)
    child.refresh_from_db()
    assert child.state == JobState.CANCELED  # not waiting for ever on failed b
    assert child.cancel_reason == f"parent job {b.pk} failed"
    # Retrying b, the other cause, reopens it (a was retried: it waits for both).
    services.retry_job(job=b, actor=owner)
    child.refresh_from_db()
    assert child.state == JobState.WAITING


def test_retry_counts_against_max_queued_jobs_with_the_children_it_reopens(owner, org_a, submit):
    services.set_quota(organization=org_a, max_queued_jobs=3)
    parent = submit(kind="noop")
    child = submit(kind="noop", parents=[parent.pk])
    services.cancel_job(job=parent, actor=owner)  # the child goes with it
    submit(kind="noop"), submit(kind="noop")  # 2 open of 3
    with pytest.raises(QuotaExceeded) as refused:
        services.retry_job(job=parent, actor=owner)  # would reopen 2
    assert refused.value.limit == "max_queued_jobs" and "2 open, 2 more refused" in refused.value.message
    parent.refresh_from_db(), child.refresh_from_db()
    assert parent.state == child.state == JobState.CANCELED  # nothing written
    services.set_quota(organization=org_a, max_queued_jobs=4)
    services.retry_job(job=parent, actor=owner)
    child.refresh_from_db()
    assert child.state == JobState.WAITING


def test_bulk_retry_over_the_quota_skips_the_jobs_that_do_not_fit(api, operator, owner, org_a, submit):
    services.set_quota(organization=org_a, max_queued_jobs=1)
    first, second = submit(kind="noop"), None
    services.cancel_job(job=first, actor=owner)
    second = submit(kind="noop")
    services.cancel_job(job=second, actor=owner)
    answer = api(operator).post("/api/v1/jobs/bulk/", {"action": "retry", "ids": [first.pk, second.pk]}, format="json")
    assert answer.status_code == 200
    assert answer.json()["done"] == [first.pk]
    assert "max_queued_jobs is 1" in answer.json()["skipped"][str(second.pk)]


def test_delete_reads_the_state_again_and_refuses_a_job_retried_since(owner, submit):
    job = submit(kind="noop")
    services.cancel_job(job=job, actor=owner)
    as_read = Job.objects.get(pk=job.pk)  # canceled, as a view read it
    services.retry_job(job=job, actor=owner)  # queued again meanwhile
    with pytest.raises(JobStateError, match="queued, not finished"):
        services.delete_jobs(jobs=[as_read], actor=owner)
    assert Job.objects.filter(pk=job.pk, state=JobState.QUEUED).exists()


def test_a_second_cancel_of_a_stopping_job_is_not_logged_again(owner, submit, claimer):
    job = submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer)
    services.cancel_job(job=job, actor=owner)
    services.cancel_job(job=job, actor=owner)
    assert job.logs.filter(message__startswith="cancel requested").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failure_being_recorded_does_not_hold_up_the_sweep_of_the_same_organization(submit, claimer):
    """fail_job, stop_canceled_job and the sweep lock the job's row only: over the join to the
    organization a plain FOR UPDATE locked its row too, and the sweep skipped every expired job of
    an organization with one failure in flight."""
    first, second = submit(kind="noop"), submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer, limit=2)
    Job.objects.filter(pk=second.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    held, release = threading.Event(), threading.Event()

    def hold_first():
        with transaction.atomic():
            dispatch._owned(first.pk, claimer.worker)  # what fail_job holds until it commits
            held.set()
            release.wait(20)

    thread, outcome = in_thread(hold_first)
    assert held.wait(10)
    try:
        swept = dispatch.sweep_expired_leases()
    finally:
        release.set()
        thread.join(10)
    assert "error" not in outcome, outcome
    assert [job.pk for job in swept] == [second.pk]
