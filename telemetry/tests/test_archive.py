import datetime as dt

import numpy as np
import pytest
from django.db import connection

from telemetry import archive, services
from telemetry.models import HourRollup, MinuteRollup
from telemetry.services import archive as archive_writes

from .conftest import iso
from .test_ingest import batch


def sample_count(where="TRUE", params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM telemetry_sample WHERE {where}", params)
        return cursor.fetchone()[0]


def test_partitions_are_created_ahead_and_idempotent(db):
    today = dt.date(2031, 5, 10)
    created = services.create_partitions_ahead(days_ahead=3, today=today)
    assert created == [archive.partition_name(today + dt.timedelta(days=n)) for n in range(-1, 4)]
    assert services.create_partitions_ahead(days_ahead=3, today=today) == []
    partitions = archive.existing_partitions()
    assert partitions["telemetry_sample_p20310513"] == dt.date(2031, 5, 13)


def test_beat_schedules_exist(db):
    from django_celery_beat.models import PeriodicTask

    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"telemetry.ensure_partitions", "telemetry.roll_up", "telemetry.apply_retention"} <= tasks


def test_rollup_minutes_keep_min_max_avg_count_last(operator, sc_a, ingest_as):
    start = dt.datetime(2025, 2, 1, 10, 0, tzinfo=dt.UTC)
    items = [
        {
            "spacecraft": "SC-001",
            "timestamp": iso(start + dt.timedelta(seconds=10 * i)),
            "parameters": {"bus_voltage": v},
        }
        for i, v in enumerate([28.0, 29.0, 27.0, 28.5, 28.1, 28.2, 30.0])  # 7 samples over 70 s
    ]
    ingest_as(operator, items)
    assert services.roll_up() >= 2
    first, second = MinuteRollup.objects.filter(bucket__gte=start, bucket__lt=start + dt.timedelta(minutes=2)).order_by(
        "bucket"
    )
    assert (first.min, first.max, first.count, first.last) == (27.0, 29.0, 6, 28.2)
    assert first.avg == sum([28.0, 29.0, 27.0, 28.5, 28.1, 28.2]) / 6
    assert (second.count, second.last) == (1, 30.0)
    assert services.roll_up() == 0  # nothing pending any more
    # Late data re-opens the minute and the roll-up is recomputed exactly.
    ingest_as(
        operator,
        [
            {
                "spacecraft": "SC-001",
                "timestamp": iso(start + dt.timedelta(seconds=5)),
                "parameters": {"bus_voltage": 20.0},
            }
        ],
    )
    services.roll_up()
    first.refresh_from_db()
    assert (first.min, first.count) == (20.0, 7)


def test_retention_drops_old_partitions_and_keeps_rollups(
    operator, sc_a, org_a, org_b, ingest_as, stranger, make_spacecraft
):
    now = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=5)
    ingest_as(operator, batch(sc_a, old, n=3) + batch(sc_a, recent, n=3))
    sc_b = make_spacecraft(org_b, "SC-B")
    ingest_as(stranger, batch(sc_b, recent, n=2, ref="SC-B"))
    services.set_retention(organization=org_a, raw_days=30)
    services.set_retention(organization=org_b, raw_days=2)
    result = services.apply_retention(now=now)
    assert archive.partition_name(old.date()) in result["dropped_partitions"]
    assert sample_count("time < %s", [now - dt.timedelta(days=30)]) == 0
    params_b = list(sc_b.parameter_definitions.values_list("id", flat=True))
    assert sample_count("parameter_id = ANY(%s)", [params_b]) == 0  # org B keeps 2 days only
    assert sample_count("time >= %s AND time < %s", [recent, recent + dt.timedelta(minutes=1)]) == 9  # org A's stay
    # Roll-ups of the dropped days remain, at both levels.
    assert MinuteRollup.objects.filter(bucket__lt=now - dt.timedelta(days=30)).exists()
    assert HourRollup.objects.filter(bucket__lt=now - dt.timedelta(days=30)).exists()
    assert services.apply_retention(now=now)["dropped_partitions"] == []


def test_retention_must_be_positive(org_a):
    from missionops.exceptions import DomainError

    with pytest.raises(DomainError):
        services.set_retention(organization=org_a, raw_days=0)


# --- hour roll-ups ------------------------------------------------------------------------------

HOUR_START = dt.datetime(2025, 3, 1, 9, 40, tzinfo=dt.UTC)


def irregular_values(n, seed=7):
    import random

    rng = random.Random(seed)
    return [round(rng.uniform(-10.0, 40.0), 3) for _ in range(n)]


def ingest_values(ingest_as, user, start, values, step=15, parameter="battery_temp"):
    items = [
        {"spacecraft": "SC-001", "timestamp": iso(start + dt.timedelta(seconds=step * n)), "parameters": {parameter: v}}
        for n, v in enumerate(values)
    ]
    ingest_as(user, items)


def raw_hours(parameter_id) -> list[tuple]:
    """(hour, min, max, avg, count, last) straight from the raw rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_bin('1 hour', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS h, min(value), max(value),"
            " avg(value), count(*), (array_agg(value ORDER BY time DESC))[1]"
            " FROM telemetry_sample WHERE parameter_id = %s GROUP BY h ORDER BY h",
            [parameter_id],
        )
        return cursor.fetchall()


def hour_rollups(parameter_id) -> list[tuple]:
    return list(
        HourRollup.objects.filter(parameter_id=parameter_id)
        .order_by("bucket")
        .values_list("bucket", "min", "max", "avg", "count", "last")
    )


def assert_hours_match_raw(parameter_id):
    rolled, raw = hour_rollups(parameter_id), raw_hours(parameter_id)
    assert [(h, lo, hi, n, last) for h, lo, hi, _, n, last in rolled] == [
        (h, lo, hi, n, last) for h, lo, hi, _, n, last in raw
    ]
    assert [r[3] for r in rolled] == pytest.approx([r[3] for r in raw], rel=1e-12)


def test_hour_rollups_equal_raw_aggregation(operator, sc_a, ingest_as):
    values = irregular_values(840)  # 3.5 h at 15 s from 09:40: a partial first and last hour
    values[300] = 99.5  # 10:55, in the middle hour
    ingest_values(ingest_as, operator, HOUR_START, values)
    pid = sc_a.parameter_definitions.get(name="battery_temp").pk
    services.roll_up()
    assert [r[0].hour for r in hour_rollups(pid)] == [9, 10, 11, 12, 13]
    assert_hours_match_raw(pid)
    assert hour_rollups(pid)[1][2] == 99.5 and hour_rollups(pid)[1][4] == 240


def test_rolling_up_again_counts_nothing_twice(operator, sc_a, ingest_as):
    ingest_values(ingest_as, operator, HOUR_START, irregular_values(840))
    pid = sc_a.parameter_definitions.get(name="battery_temp").pk
    services.roll_up()
    before = hour_rollups(pid)
    # Every minute marked again (as a re-sent batch or a retried task would): recomputed, not added.
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT date_bin('1 minute', time, TIMESTAMPTZ '2000-01-01') FROM telemetry_sample")
        minutes = np.array([archive.to_us(row[0]) for row in cursor.fetchall()], dtype=np.int64)
        archive_writes.mark_pending_minutes(cursor=cursor, times_us=minutes)
    assert services.roll_up() == 210
    assert services.roll_up() == 0
    assert hour_rollups(pid) == before
    # Late data re-opens its minute, and its hour is recomputed from the minutes.
    ingest_values(ingest_as, operator, HOUR_START + dt.timedelta(hours=1, seconds=7), [-50.0])
    services.roll_up()
    after = hour_rollups(pid)
    assert (after[1][1], after[1][4]) == (-50.0, before[1][4] + 1)
    assert after[:1] + after[2:] == before[:1] + before[2:]
    assert_hours_match_raw(pid)


def test_hours_rolled_up_in_pieces_end_exact(operator, sc_a, ingest_as):
    ingest_values(ingest_as, operator, HOUR_START, irregular_values(840))
    pid = sc_a.parameter_definitions.get(name="battery_temp").pk
    while services.roll_up(limit=7):  # hours are recomputed while some of their minutes are pending
        pass
    assert_hours_match_raw(pid)


def test_hour_rollups_backfill_migration(operator, sc_a, ingest_as):
    import importlib

    ingest_values(ingest_as, operator, HOUR_START, irregular_values(840))
    pid = sc_a.parameter_definitions.get(name="battery_temp").pk
    services.roll_up()
    expected = hour_rollups(pid)
    HourRollup.objects.all().delete()
    migration = importlib.import_module("telemetry.migrations.0004_hour_rollup")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert hour_rollups(pid) == expected


def test_retention_keeps_hour_rollups(operator, sc_a, org_a, ingest_as):
    now = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
    old = now - dt.timedelta(days=40)
    ingest_values(ingest_as, operator, old, irregular_values(480))  # 2 h
    pid = sc_a.parameter_definitions.get(name="battery_temp").pk
    services.set_retention(organization=org_a, raw_days=30)
    services.apply_retention(now=now)  # rolls up what is pending, then drops the raw days
    assert sample_count("parameter_id = %s", [pid]) == 0
    rolled = hour_rollups(pid)
    assert [r[0] for r in rolled] == [old, old + dt.timedelta(hours=1)]
    assert sum(r[4] for r in rolled) == 480
    services.apply_retention(now=now)
    assert hour_rollups(pid) == rolled
