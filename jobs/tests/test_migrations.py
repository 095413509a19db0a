"""Migration 0004 splits usage counters by shard; going back merges each day's rows into one."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE, AFTER = ("jobs", "0003_tile_inputs"), ("jobs", "0004_usage_shards")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def test_usage_rows_survive_both_directions(db, org_a, owner):
    apps = migrate(AFTER)
    usage = apps.get_model("jobs", "UsageDay")
    day = "2026-11-01"
    try:
        for shard, jobs, seconds in ((0, 2, 1.5), (3, 1, 2.0), (7, 4, 0.5)):
            usage.objects.create(
                organization_id=org_a.pk, user_id=owner.pk, day=day, shard=shard, jobs=jobs, succeeded=jobs,
                gpu_seconds=seconds,
            )  # fmt: skip
        usage.objects.create(organization_id=org_a.pk, user_id=None, day=day, shard=5, jobs=1, succeeded=0)
        with connection.cursor() as cursor:  # fire the deferred FK checks: ALTER TABLE refuses pending ones
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        old = migrate(BEFORE).get_model("jobs", "UsageDay")
        rows = sorted(old.objects.values_list("user_id", "jobs", "succeeded", "gpu_seconds"), key=str)
        assert rows == sorted([(owner.pk, 7, 7, 4.0), (None, 1, 0, 0.0)], key=str)
        new = migrate(AFTER).get_model("jobs", "UsageDay")
        assert set(new.objects.values_list("shard", flat=True)) == {0}  # old rows become shard 0
    finally:
        migrate(AFTER)  # the rest of the run expects the latest schema
