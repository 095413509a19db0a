import datetime as dt
import random

import pytest
from django.db import connection, transaction

from telemetry import archive, selectors, services
from telemetry.selectors import HOUR, MINUTE, ORIGIN

from .conftest import iso

# A year whose edges fall mid-minute, so every level and both raw edges are used.
YEAR_START = dt.datetime(2024, 7, 1, 10, 17, 30, tzinfo=dt.UTC)
YEAR_END = YEAR_START + dt.timedelta(days=365)


def ingest_cluster(user, start, count, step_s=10, seed=0, spikes=None):
    rng = random.Random(seed)
    items = []
    for n in range(count):
        value = (spikes or {}).get(n, round(rng.uniform(15.0, 30.0), 3))
        moment = start + dt.timedelta(seconds=step_s * n)
        items.append({"spacecraft": "SC-001", "timestamp": iso(moment), "parameters": {"battery_temp": value}})
    scope, may_write = services.writable_scope_for(user)
    services.ingest(snapshots=items, scope=scope, may_write=may_write)


def raw_series(definition, start, end, bucket_s) -> dict:
    """The buckets straight from the raw rows, as the selector's raw level would compute them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_bin(%s, time, %s) AS b, min(value), max(value), avg(value), count(*) FROM telemetry_sample"
            " WHERE parameter_id = %s AND time >= %s AND time < %s GROUP BY b ORDER BY b",
            [dt.timedelta(seconds=bucket_s), ORIGIN, definition.pk, start, end],
        )
        rows = cursor.fetchall()
    return {key: [r[i] for r in rows] for i, key in enumerate(["t", "min", "max", "avg", "count"])}


def assert_same_buckets(data, expected):
    for key in ("t", "min", "max", "count"):
        assert data[key] == expected[key], key
    assert data["avg"] == pytest.approx(expected["avg"], rel=1e-12)


@pytest.fixture
def year_of_clusters(operator, sc_a):
    """Three bursts in a year: across the start, mid-year (with a spike and a dip), across the end."""
    ingest_cluster(operator, YEAR_START - dt.timedelta(minutes=1), 30, seed=1)  # half before start
    ingest_cluster(operator, dt.datetime(2024, 12, 25, 12, 31, 5, tzinfo=dt.UTC), 700, seed=2, spikes={99: 99.0})
    ingest_cluster(operator, dt.datetime(2024, 12, 25, 14, 30, tzinfo=dt.UTC), 5, seed=3, spikes={2: -40.0})
    ingest_cluster(operator, YEAR_END - dt.timedelta(minutes=70), 500, seed=4)  # ~13 min past the end
    return sc_a.parameter_definitions.get(name="battery_temp")


@pytest.mark.parametrize(
    ("span", "level", "bucket_s"),
    [
        (dt.timedelta(hours=1), "raw", 4),
        (dt.timedelta(hours=16, minutes=39), "minute", 60),
        (dt.timedelta(days=30), "minute", 2640),
        (dt.timedelta(days=41, hours=15), "hour", 3600),
        (dt.timedelta(days=365), "hour", 32400),
    ],
)
def test_level_follows_bucket_width(viewer, sc_a, span, level, bucket_s):
    definition = selectors.parameter_of(sc_a, "battery_temp")
    data = selectors.series(definition=definition, start=YEAR_START, end=YEAR_START + span, max_points=1000)
    assert (data["level"], data["bucket_s"]) == (level, bucket_s)
    assert data["source"] == ("raw" if level == "raw" else "rollup")


def year_series(definition) -> dict:
    return selectors.series(definition=definition, start=YEAR_START, end=YEAR_END, max_points=1000)


def test_year_series_from_hour_rollups_matches_raw(operator, year_of_clusters):
    definition = year_of_clusters
    # Nothing rolled up yet: the pending minutes (all of them) are read raw, complete anyway.
    data = year_series(definition)
    assert data["level"] == "hour" and data["bucket_s"] == 9 * 3600 and len(data["t"]) <= 1000
    expected = raw_series(definition, YEAR_START, YEAR_END, data["bucket_s"])
    assert_same_buckets(data, expected)
    assert (sum(data["count"]), max(data["max"]), min(data["min"])) == (24 + 700 + 5 + 420, 99.0, -40.0)

    services.roll_up()
    assert_same_buckets(year_series(definition), expected)

    # New data in the last hour, not rolled up yet: read from the minute roll-ups and raw rows.
    ingest_cluster(operator, YEAR_END - dt.timedelta(minutes=5, seconds=3), 1, spikes={0: 150.0})
    data = year_series(definition)
    assert_same_buckets(data, raw_series(definition, YEAR_START, YEAR_END, data["bucket_s"]))
    assert (sum(data["count"]), max(data["max"])) == (1150, 150.0)

    # The whole hours come from the hour level: with the December raw day and its minute roll-ups
    # gone, the answer does not change.
    services.roll_up()
    before = year_series(definition)
    december = dt.datetime(2024, 12, 25, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {archive.partition_name(december.date())}")
        cursor.execute(
            "DELETE FROM telemetry_minute_rollup WHERE bucket >= %s AND bucket < %s",
            [december, december + dt.timedelta(days=1)],
        )
    assert year_series(definition) == before


def test_hour_level_with_partly_rolled_hours(operator, sc_a):
    definition = selectors.parameter_of(sc_a, "battery_temp")
    start = dt.datetime(2025, 1, 3, 0, 0, 20, tzinfo=dt.UTC)
    ingest_cluster(operator, start, 2000, step_s=30, seed=5, spikes={1500: 77.0})  # ~16.7 h
    end = start + dt.timedelta(days=2)
    services.roll_up(limit=500)  # the hours up to ~08:20 rolled up, the rest still pending
    data = selectors.series(definition=definition, start=start, end=end, max_points=40)
    assert data["level"] == "hour"
    assert_same_buckets(data, raw_series(definition, start, end, data["bucket_s"]))
    assert sum(data["count"]) == 2000 and max(data["max"]) == 77.0


def test_rollup_ranges_tile_the_range():
    rng = random.Random(11)
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for _ in range(2000):
        start = base + dt.timedelta(seconds=rng.randrange(0, 3 * 86_400), microseconds=rng.choice([0, 250_000]))
        end = start + dt.timedelta(seconds=rng.choice([1, 59, 61, 3599, 3601, 7200, 86_400 * 2]))
        hours = rng.random() < 0.5
        r = selectors._rollup_ranges(start=start, end=end, hours=hours)
        assert start <= r["m0"] <= r["h0"] <= r["h1"] <= r["m1"] <= end
        assert r["m1"] - r["m0"] >= (end - start) - 2 * MINUTE  # only the partial minutes at the edges are raw
        for key, unit in (("m0", MINUTE), ("m1", MINUTE), ("h0", HOUR if hours else MINUTE), ("h1", HOUR)):
            if r["m0"] < r["m1"] and (key[0] == "m" or r["h0"] < r["h1"]):
                assert (r[key] - ORIGIN) % unit == dt.timedelta(0), key


def test_random_ranges_with_pending_minutes_inside_match_raw(operator, sc_a):
    """Random ranges at every level over three days whose roll-ups are partly stale (late samples
    in random minutes, not rolled up yet): every answer equals the raw aggregation, and still does
    with the raw rows of every other whole minute of the range deleted, so only the pending
    minutes were read raw and the rest came from roll-ups."""
    rng = random.Random(23)
    definition = selectors.parameter_of(sc_a, "battery_temp")
    base = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for seed in range(6):
        first = base + dt.timedelta(seconds=rng.randrange(0, 3 * 86_400 - 7200))
        ingest_cluster(operator, first, rng.randint(50, 300), step_s=rng.choice([7, 13, 29]), seed=seed)
    services.roll_up()
    with connection.cursor() as cursor:  # half the late samples land in minutes that hold data already
        cursor.execute("SELECT bucket FROM telemetry_minute_rollup WHERE parameter_id = %s", [definition.pk])
        rolled = [row[0] for row in cursor.fetchall()]
    minutes = rng.sample(rolled, 15) + [base + MINUTE * rng.randrange(3 * 1440) for _ in range(15)]
    late = [
        {
            "spacecraft": "SC-001",
            "timestamp": iso(minute + dt.timedelta(seconds=rng.randrange(60), milliseconds=rng.randrange(1000))),
            "parameters": {"battery_temp": rng.choice([-60.0, 95.0, round(rng.uniform(15.0, 30.0), 3)])},
        }
        for minute in minutes
    ]
    scope, may_write = services.writable_scope_for(operator)
    services.ingest(snapshots=late, scope=scope, may_write=may_write)
    pending_seen = {"minute": 0, "hour": 0}
    for _ in range(150):
        start = base + dt.timedelta(seconds=rng.randrange(0, 3 * 86_400), microseconds=rng.choice([0, 500_000]))
        span = rng.choice([61, 1800, 3601, 4 * 3600 + 17, 86_400, 2 * 86_400]) + rng.randrange(120)
        end = start + dt.timedelta(seconds=span)
        max_points = rng.choice([2, 7, 30, 100, 400])
        data = selectors.series(definition=definition, start=start, end=end, max_points=max_points)
        expected = raw_series(definition, start, end, data["bucket_s"])
        assert_same_buckets(data, expected)
        if data["level"] == "raw":
            continue
        r = selectors._rollup_ranges(start=start, end=end, hours=data["level"] == "hour")
        pending_seen[data["level"]] += any(r["m0"] <= m < r["m1"] for m in minutes)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM telemetry_sample WHERE parameter_id = %s AND time >= %s AND time < %s"
                    " AND date_bin('1 minute', time, %s) NOT IN (SELECT bucket FROM telemetry_pending_rollup)",
                    [definition.pk, r["m0"], r["m1"], ORIGIN],
                )
            again = selectors.series(definition=definition, start=start, end=end, max_points=max_points)
            assert_same_buckets(again, expected)
            transaction.set_rollback(True)
    assert min(pending_seen.values()) >= 10, pending_seen


def test_pending_minutes_before_the_range_do_not_force_raw(operator, sc_a):
    definition = selectors.parameter_of(sc_a, "battery_temp")
    day = dt.datetime(2025, 2, 10, tzinfo=dt.UTC)
    ingest_cluster(operator, day + dt.timedelta(hours=2), 600, seed=6)
    services.roll_up()
    with connection.cursor() as cursor:  # only the roll-ups can answer now
        cursor.execute(f"DROP TABLE {archive.partition_name(day.date())}")
    ingest_cluster(operator, day - dt.timedelta(days=9), 1)  # late data, days before: pending
    for span, level in ((dt.timedelta(hours=20), "minute"), (dt.timedelta(days=60), "hour")):
        data = selectors.series(definition=definition, start=day, end=day + span, max_points=100)
        assert data["level"] == level and sum(data["count"]) == 600


def test_a_raw_series_whose_raw_rows_expired_falls_back_to_minute_rollups(operator, sc_a, api):
    """Retention dropped the raw rows of an old hour: the series says so and shows its roll-ups."""
    from django.utils import timezone

    start = (timezone.now() - dt.timedelta(days=40)).replace(second=0, microsecond=0)
    ingest_cluster(operator, start, 360, step_s=10)  # one hour, 6 samples a minute
    definition = sc_a.parameter_definitions.get(name="battery_temp")
    services.roll_up(limit=1_000_000)
    end = start + dt.timedelta(hours=1)
    kept = selectors.series(definition=definition, start=start, end=end, max_points=1000)
    assert kept["level"] == "raw" and sum(kept["count"]) == 360 and kept["fallback"] == ""
    with connection.cursor() as cursor:  # what retention does to an expired day partition
        cursor.execute("DELETE FROM telemetry_sample WHERE parameter_id = %s", [definition.pk])
    data = selectors.series(definition=definition, start=start, end=end, max_points=1000)
    assert data["level"] == "minute" and data["bucket_s"] == 60 and sum(data["count"]) == 360
    assert "removed by retention" in data["fallback"]
    assert len(data["t"]) == 60 and max(data["max"]) == max(kept["max"])
    answer = api(operator).get(
        "/api/v1/telemetry/series/",
        {"spacecraft": "SC-001", "parameter": "battery_temp", "start": iso(start), "end": iso(end)},
    )
    assert answer.status_code == 200 and answer.json()["level"] == "minute" and answer.json()["fallback"]
