import datetime as dt

from django.db import connection

from telemetry import archive, services
from telemetry.models import MinuteRollup

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
    # Roll-ups of the dropped days remain.
    assert MinuteRollup.objects.filter(bucket__lt=now - dt.timedelta(days=30)).exists()
    assert services.apply_retention(now=now)["dropped_partitions"] == []


def test_retention_must_be_positive(org_a):
    import pytest

    from missionops.exceptions import DomainError

    with pytest.raises(DomainError):
        services.set_retention(organization=org_a, raw_days=0)
