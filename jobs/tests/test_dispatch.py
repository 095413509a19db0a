"""Claims, leases, retries, the DAG and quotas through the services, against the real database."""

import pytest
from django.utils import timezone

from jobs import services
from jobs.exceptions import JobParamsError, JobStateError, LeaseLost, QuotaExceeded
from jobs.models import Job, JobLog, JobState, OrganizationQuota, UsageDay
from jobs.services import dispatch


def claim(claimer, limit=1, **kwargs):
    return dispatch.claim_jobs(claimer=claimer, limit=limit, **kwargs)


def test_claims_by_priority_then_age(db, submit, claimer):
    low = submit(priority=0)
    high_old = submit(priority=5)
    high_new = submit(priority=5)
    assert [j.pk for j in claim(claimer, limit=3)] == [high_old.pk, high_new.pk, low.pk]
    job = Job.objects.get(pk=high_old.pk)
    assert job.state == JobState.RUNNING and job.attempts == 1 and job.worker == "test-worker"
    assert job.lease_expires_at > timezone.now()
    assert claim(claimer) == []


def test_claimed_row_is_skipped_by_another_claimer(transactional_db, submit, claimer):
    """A row locked by an open claim transaction is skipped, not waited for."""
    import threading

    from django.db import connection, transaction

    first, second = submit(), submit()
    locked, release = threading.Event(), threading.Event()

    def hold_first():
        with transaction.atomic():
            Job.objects.select_for_update().get(pk=first.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_first)
    holder.start()
    locked.wait(5)
    try:
        assert [j.pk for j in claim(claimer, limit=2)] == [second.pk]
    finally:
        release.set()
        holder.join()


def test_retry_and_redelay_until_attempts_run_out(db, submit, claimer, settings):
    settings.JOBS_RETRY_BACKOFF_S = 10
    job = submit(max_attempts=2)
    (claimed,) = claim(claimer)
    dispatch.fail_job(job_id=claimed.pk, worker=claimer.worker, error="boom")
    job.refresh_from_db()
    assert job.state == JobState.RETRYING and 9 < (job.run_after - timezone.now()).total_seconds() <= 10
    assert claim(claimer) == []  # backing off
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    (claimed,) = claim(claimer)
    assert claimed.attempts == 2
    dispatch.fail_job(job_id=job.pk, worker=claimer.worker, error="boom again")
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error == "boom again" and job.finished_at


def test_backoff_is_exponential_and_capped(settings):
    settings.JOBS_RETRY_BACKOFF_S, settings.JOBS_RETRY_BACKOFF_MAX_S = 2, 20
    assert [services.retry_delay_s(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 16, 20]


def test_sweeper_requeues_expired_lease_counting_the_attempt(db, submit, claimer, settings):
    settings.JOBS_RETRY_BACKOFF_S = 0
    job = submit(max_attempts=2)
    claim(claimer)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert [j.pk for j in dispatch.sweep_expired_leases()] == [job.pk]
    job.refresh_from_db()
    assert job.state == JobState.RETRYING and job.attempts == 1 and "lease expired" in job.error
    with pytest.raises(LeaseLost):  # the old worker may not finish it any more
        dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={})
    claim(claimer)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    dispatch.sweep_expired_leases()
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.attempts == 2


def test_heartbeat_extends_lease_and_reports_cancel(db, submit, claimer, owner):
    job = submit()
    claim(claimer)
    assert dispatch.heartbeat(job_id=job.pk, worker=claimer.worker, lease_s=60, progress=40) is False
    services.cancel_job(job=job, actor=owner)
    assert dispatch.heartbeat(job_id=job.pk, worker=claimer.worker, lease_s=60) is True
    job.refresh_from_db()
    assert job.progress == 40 and job.state == JobState.RUNNING and job.cancel_requested
    dispatch.stop_canceled_job(job_id=job.pk, worker=claimer.worker)
    job.refresh_from_db()
    assert job.state == JobState.CANCELED
    with pytest.raises(LeaseLost):
        dispatch.heartbeat(job_id=job.pk, worker="someone-else", lease_s=60)


def test_one_job_per_gpu_slot(db, submit, claimer, gpus):
    jobs = [submit(params={"gpu": True}) for _ in range(3)]
    cpu_job = submit()
    claimed = claim(claimer, limit=4)
    assert {j.pk for j in claimed} == {jobs[0].pk, jobs[1].pk, cpu_job.pk}
    assert sorted(j.gpu_index for j in claimed if j.needs_gpu) == [0, 1]
    assert claim(claimer) == []  # the third GPU job waits for a slot
    dispatch.complete_job(job_id=jobs[0].pk, worker=claimer.worker, result={})
    (third,) = claim(claimer)
    assert third.pk == jobs[2].pk and third.gpu_index == 0


def test_a_cpu_claim_leaves_the_gpu_slots_to_gpu_claims(transactional_db, submit, claimer, gpus):
    """Claiming a CPU job does not lock this host's GPU slots: a GPU claim on the same host
    running meanwhile (another worker) still finds both GPUs free."""
    import threading

    from django.db import connection, transaction

    cpu_job = submit()
    claimed, release = threading.Event(), threading.Event()
    neighbour = dispatch.Claimer(worker="neighbour", host=claimer.host)

    def claim_cpu_job_and_hold():
        with transaction.atomic():
            assert [j.pk for j in claim(neighbour)] == [cpu_job.pk]
            claimed.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=claim_cpu_job_and_hold)
    holder.start()
    assert claimed.wait(5)
    try:
        gpu_jobs = [submit(params={"gpu": True}) for _ in range(2)]
        taken = claim(claimer, limit=2)
        assert {j.pk for j in taken} == {j.pk for j in gpu_jobs}
        assert sorted(j.gpu_index for j in taken) == [0, 1]
    finally:
        release.set()
        holder.join()


def test_gpu_jobs_need_a_gpu_on_this_host(db, submit, claimer):
    submit(params={"gpu": True})
    assert claim(claimer) == []


def test_max_concurrent_per_organization(db, submit, claimer, org_a, org_b, stranger):
    services.set_quota(organization=org_a, max_concurrent_jobs=1)
    a1, a2 = submit(priority=9), submit(priority=9)
    b1 = submit(organization=org_b, actor=stranger)
    claimed = claim(claimer, limit=3)
    assert {j.pk for j in claimed} == {a1.pk, b1.pk}  # a2 passed over, org B not starved
    assert claim(claimer) == []
    dispatch.complete_job(job_id=a1.pk, worker=claimer.worker, result={})
    assert [j.pk for j in claim(claimer)] == [a2.pk]


def test_daily_gpu_seconds_quota(db, submit, claimer, gpus, org_a, owner):
    OrganizationQuota.objects.update_or_create(organization=org_a, defaults={"daily_gpu_seconds": 10})
    job = submit(params={"gpu": True})
    UsageDay.objects.create(organization=org_a, user=owner, day=timezone.now().date(), gpu_seconds=11)
    assert claim(claimer) == []  # out of GPU time: passed over at claim
    with pytest.raises(QuotaExceeded) as refused:
        submit(params={"gpu": True})
    assert refused.value.limit == "daily_gpu_seconds" and refused.value.status_code == 429
    submit()  # CPU jobs are still accepted
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_max_queued_quota_refuses_whole_batch(db, submit, org_a, owner):
    OrganizationQuota.objects.update_or_create(organization=org_a, defaults={"max_queued_jobs": 3})
    submit()
    with pytest.raises(QuotaExceeded) as refused:
        services.submit_jobs(organization=org_a, actor=owner, specs=[{"kind": "noop"}] * 3)
    assert refused.value.limit == "max_queued_jobs"
    assert Job.objects.count() == 1


def test_usage_counts_gpu_seconds_and_jobs(db, submit, claimer, gpus, owner):
    job = submit(params={"gpu": True})
    claim(claimer)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timezone.timedelta(seconds=5))
    dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={"ok": 1})
    day = UsageDay.objects.get(user=owner)
    assert day.jobs == 1 and day.succeeded == 1 and 5 <= day.gpu_seconds < 7
    assert 5 <= Job.objects.get(pk=job.pk).gpu_seconds < 7


def test_usage_of_jobs_running_side_by_side_lands_on_separate_rows_and_sums(db, submit, claimer, owner, org_a):
    """Completions add to the counter row of their run slot's shard, so jobs that ran at the same
    time never queue on one row lock; every reader sums the shards."""
    from jobs import selectors

    jobs = [submit() for _ in range(3)]
    claim(claimer, limit=3)
    for job in jobs:
        dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={})
    rows = UsageDay.objects.filter(user=owner)
    assert sorted(rows.values_list("shard", flat=True)) == [0, 1, 2]
    assert {(r.jobs, r.succeeded) for r in rows} == {(1, 1)}
    failing = submit(max_attempts=1)
    claim(claimer)
    dispatch.fail_job(job_id=failing.pk, worker=claimer.worker, error="bad tile")
    today = timezone.now().date()
    summary = selectors.usage(owner, since=today, until=today)
    assert [(o["jobs"], o["succeeded"]) for o in summary["organizations"]] == [(4, 3)]
    assert [(u["user"], u["jobs"]) for u in summary["leaderboard"]] == [(owner.username, 4)]
    assert [d["jobs"] for d in summary["days"]] == [4]


def test_usage_leaderboard_sums_a_users_counter_rows(db, owner, org_a):
    from jobs import selectors

    today = timezone.now().date()
    for shard, seconds in ((0, 5.0), (3, 7.0)):
        UsageDay.objects.create(organization=org_a, user=owner, day=today, shard=shard, jobs=1, gpu_seconds=seconds)
    board = selectors.usage(owner, since=today, until=today)["leaderboard"]
    assert [(row["user"], row["jobs"], row["gpu_seconds"]) for row in board] == [(owner.username, 2, 12.0)]


def test_dag_runs_children_after_all_parents(db, submit, claimer):
    a, b = submit(), submit()
    c = submit(parents=[a.pk, b.pk])
    assert c.state == JobState.WAITING
    assert {j.pk for j in claim(claimer, limit=5)} == {a.pk, b.pk}
    dispatch.complete_job(job_id=a.pk, worker=claimer.worker, result={})
    assert Job.objects.get(pk=c.pk).state == JobState.WAITING
    dispatch.complete_job(job_id=b.pk, worker=claimer.worker, result={})
    assert Job.objects.get(pk=c.pk).state == JobState.QUEUED
    assert [j.pk for j in claim(claimer)] == [c.pk]


def test_a_batch_with_parents_reads_them_in_one_query(db, submit, org_a, owner, django_assert_max_num_queries):
    a, b = submit(), submit()
    specs = [{"kind": "noop", "parents": [a.pk, b.pk][: 1 + i % 2]} for i in range(200)]
    with django_assert_max_num_queries(20):  # was one query per spec
        jobs = services.submit_jobs(organization=org_a, actor=owner, specs=specs, event=False)
    assert Job.parents.through.objects.filter(from_job_id__in=[j.pk for j in jobs]).count() == 300
    assert {j.state for j in jobs} == {JobState.WAITING}
    bad = [*specs[:3], {"kind": "noop", "parents": [a.pk, 999999]}]
    with pytest.raises(JobParamsError, match="no job 999999") as refused:
        services.submit_jobs(organization=org_a, actor=owner, specs=bad)
    assert refused.value.field == "jobs.3.parents"


def test_sweep_releases_children_a_dead_worker_left_waiting(db, submit, claimer):
    """The success commits before the children are released: a worker dying in between leaves a
    waiting child whose parents all succeeded; the lease sweep queues it."""
    a = submit()
    c = submit(parents=[a.pk])
    claim(claimer)
    Job.objects.filter(pk=a.pk).update(state=JobState.SUCCEEDED)  # as if the worker died just after
    assert Job.objects.get(pk=c.pk).state == JobState.WAITING
    dispatch.sweep_expired_leases()
    assert Job.objects.get(pk=c.pk).state == JobState.QUEUED


def test_run_slots_follow_the_quota(db, submit, claimer, org_a):
    """max_concurrent_jobs is enforced by run slots: raising it adds slots, lowering it leaves the
    higher ones unused (a running job is never stranded), and a finished job frees its slot."""
    from jobs.models import RunSlot

    services.set_quota(organization=org_a, max_concurrent_jobs=3)
    jobs = [submit() for _ in range(4)]
    assert RunSlot.objects.filter(organization=org_a).count() == 3
    assert len(claim(claimer, limit=4)) == 3
    services.set_quota(organization=org_a, max_concurrent_jobs=1)
    for job in jobs[:3]:
        dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result={})
    assert not RunSlot.objects.filter(organization=org_a, job_id__isnull=False).exists()
    assert [j.pk for j in claim(claimer, limit=4)] == [jobs[3].pk]
    assert RunSlot.objects.get(organization=org_a, job_id=jobs[3].pk).number == 0
    assert Job.objects.get(pk=jobs[3].pk).run_slot == 0
    Job.objects.filter(pk=jobs[3].pk).delete()  # deleted while running: the sweep frees its slot
    dispatch.sweep_expired_leases()
    assert not RunSlot.objects.filter(organization=org_a, job_id__isnull=False).exists()


def test_failed_parent_cancels_descendants_with_reason(db, submit, claimer):
    a = submit(max_attempts=1)
    b = submit(parents=[a.pk])
    c = submit(parents=[b.pk])
    claim(claimer)
    dispatch.fail_job(job_id=a.pk, worker=claimer.worker, error="bad tile")
    b.refresh_from_db()
    c.refresh_from_db()
    assert (b.state, b.cancel_reason) == (JobState.CANCELED, f"parent job {a.pk} failed")
    assert (c.state, c.cancel_reason) == (JobState.CANCELED, f"parent job {b.pk} canceled")
    assert JobLog.objects.filter(job=c, message__contains="canceled").exists()
    # Retrying the root reopens the chain it canceled.
    services.retry_job(job=Job.objects.get(pk=a.pk), actor=None)
    assert list(Job.objects.filter(pk__in=[a.pk, b.pk, c.pk]).order_by("pk").values_list("state", flat=True)) == [
        JobState.QUEUED,
        JobState.WAITING,
        JobState.WAITING,
    ]


def test_cancel_queued_job_cancels_children_and_submit_under_canceled_parent(db, submit, owner):
    a = submit()
    b = submit(parents=[a.pk])
    services.cancel_job(job=a, actor=owner, reason="wrong region")
    assert Job.objects.get(pk=b.pk).state == JobState.CANCELED
    late = submit(parents=[a.pk])
    assert late.state == JobState.CANCELED and late.cancel_reason == f"parent job {a.pk} canceled"
    with pytest.raises(JobStateError):
        services.cancel_job(job=a, actor=owner)


def test_retry_only_failed_or_canceled(db, submit, owner):
    job = submit()
    with pytest.raises(JobStateError):
        services.retry_job(job=job, actor=owner)


def test_delete_only_finished(db, submit, owner):
    job = submit()
    with pytest.raises(JobStateError):
        services.delete_jobs(jobs=[job], actor=owner)
    services.cancel_job(job=job, actor=owner)
    assert services.delete_jobs(jobs=[Job.objects.get(pk=job.pk)], actor=owner) == 1
    assert not Job.objects.exists()


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-jobs", "gpu-jobs"])
def test_a_claim_reads_only_the_rows_it_takes_after_the_table_was_purged(transactional_db, org_a, owner, gpus, gpu):
    """After every job was deleted and the table vacuumed, the statistics say the jobs table is
    empty while its indexes keep their size. The plan a worker caches must still look rows up, not
    read every job in the table for each claim."""
    import json

    from django.db import connection

    def submit(count):
        specs = [{"kind": "sleep", "params": {"gpu": gpu}}] * count
        services.submit_jobs(organization=org_a, actor=owner, specs=specs, event=False)

    services.set_quota(organization=org_a, max_concurrent_jobs=10, max_queued_jobs=10_000)
    submit(1000)
    Job.objects.all().delete()
    sql = dispatch._claim_sql(True, 1, False)
    for name, number in (("host", 1), ("worker", 2), ("lease_s", 3)):
        sql = sql.replace(f"%({name})s", f"${number}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE jobs_job")
        dispatch._tune_planner()
        # A worker prepares its claim while the queue is empty, and keeps the plan.
        cursor.execute("PREPARE claim(text, text, float8) AS " + sql.replace("%%", "%"))
        try:
            for _ in range(10):
                cursor.execute("EXECUTE claim('test-host', 'w', 30)")
            submit(300)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim('test-host', 'w', 30)")
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("DEALLOCATE claim")
            dispatch.untune_planner()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def job_scans(node):
        if node.get("Relation Name") == "jobs_job" and "Scan" in node["Node Type"]:
            yield node
        for child in node.get("Plans", []):
            yield from job_scans(child)

    def rows_read(scan):  # returned, plus read and dropped by a filter, over all loops
        return (scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)) * scan["Actual Loops"]

    scans = list(job_scans(plan[0]["Plan"]))
    assert scans and all(rows_read(scan) <= 1 for scan in scans), [
        (scan["Node Type"], scan.get("Index Name"), rows_read(scan)) for scan in scans
    ]
    assert Job.objects.filter(state=JobState.RUNNING).count() == 1
