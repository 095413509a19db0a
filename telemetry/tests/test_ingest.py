import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telemetry import archive, services
from telemetry.exceptions import IngestForbidden, TelemetryInputError
from telemetry.models import LatestValue, ParameterDefinition
from telemetry.services import archive as archive_writes
from telemetry.services import sample_writes, validation

from .conftest import iso


def count_samples(sc) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM telemetry_sample s JOIN telemetry_parameterdefinition d ON d.id = s.parameter_id "
            "WHERE d.spacecraft_id = %s",
            [sc.pk],
        )
        return cursor.fetchone()[0]


def batch(sc, start, n=3, ref=None):
    return [
        {
            "spacecraft": ref or sc.designation,
            "timestamp": iso(start + dt.timedelta(seconds=i)),
            "parameters": {"battery_soc": 80.0 + i, "imaging_mode": "IDLE", "images_captured": i},
        }
        for i in range(n)
    ]


def test_ingest_stores_and_counts(operator, sc_a, ingest_as, now_minute):
    result = ingest_as(operator, batch(sc_a, now_minute))
    assert (result.received, result.stored, result.duplicates) == (9, 9, 0)
    assert count_samples(sc_a) == 9
    latest = LatestValue.objects.select_related("parameter").get(
        parameter__spacecraft=sc_a, parameter__name="battery_soc"
    )
    assert latest.value == 82.0
    assert latest.time == now_minute + dt.timedelta(seconds=2)
    mode = LatestValue.objects.select_related("parameter").get(parameter__name="imaging_mode")
    assert mode.parameter.display_value(mode.value) == "IDLE"


def test_same_batch_twice_is_stored_once(operator, sc_a, ingest_as, now_minute):
    ingest_as(operator, batch(sc_a, now_minute))
    again = ingest_as(operator, batch(sc_a, now_minute, ref=str(sc_a.pk)))
    assert (again.received, again.stored, again.duplicates) == (9, 0, 9)
    assert count_samples(sc_a) == 9


def test_duplicates_inside_one_batch_are_stored_once(operator, sc_a, ingest_as, now_minute):
    result = ingest_as(operator, batch(sc_a, now_minute) + batch(sc_a, now_minute))
    assert (result.received, result.stored, result.duplicates) == (18, 9, 9)


def test_overlapping_batch_stores_only_the_new_samples(operator, sc_a, ingest_as, now_minute):
    # The direct COPY fails on the first stored sample; the batch falls back to ON CONFLICT DO NOTHING.
    ingest_as(operator, batch(sc_a, now_minute, n=3))
    result = ingest_as(operator, batch(sc_a, now_minute, n=5))
    assert (result.received, result.stored, result.duplicates) == (15, 6, 9)
    assert count_samples(sc_a) == 15
    latest = LatestValue.objects.get(parameter__spacecraft=sc_a, parameter__name="battery_soc")
    assert latest.value == 84.0


def test_streamed_copy_in_small_pieces_aborts_or_falls_back(operator, sc_a, ingest_as, now_minute, monkeypatch):
    monkeypatch.setattr(validation, "COPY_CHUNK", 2)  # several pieces already sent when trouble comes
    bad = batch(sc_a, now_minute, n=5)
    bad[4]["parameters"]["battery_soc"] = "full"
    with pytest.raises(TelemetryInputError) as error:
        ingest_as(operator, bad)
    assert error.value.index == 4
    assert count_samples(sc_a) == 0
    ingest_as(operator, batch(sc_a, now_minute + dt.timedelta(seconds=3), n=2))
    result = ingest_as(operator, batch(sc_a, now_minute, n=6))  # the duplicates come after 3 pieces
    assert (result.received, result.stored, result.duplicates) == (18, 12, 6)
    assert count_samples(sc_a) == 18


def test_a_bool_for_a_float_parameter_is_refused_on_the_fast_path(operator, sc_a, ingest_as, now_minute):
    snapshots = [
        {
            "spacecraft": "SC-001",
            "timestamp": iso(now_minute + dt.timedelta(seconds=i)),
            "parameters": {"battery_soc": v},
        }
        for i, v in enumerate([80.0, 81, True])
    ]
    with pytest.raises(TelemetryInputError) as error:
        ingest_as(operator, snapshots)
    assert (error.value.index, error.value.field) == (2, "items[2].parameters.battery_soc")
    assert count_samples(sc_a) == 0


def test_declared_parameters_come_from_config(operator, sc_a, ingest_as, now_minute):
    ingest_as(operator, batch(sc_a, now_minute, n=1))
    soc = ParameterDefinition.objects.get(spacecraft=sc_a, name="battery_soc")
    assert (soc.declared, soc.subsystem, soc.units, soc.type, soc.crit_low) == (True, "power", "%", "float", 20)
    assert ParameterDefinition.objects.filter(spacecraft=sc_a, declared=True).count() == 11


def test_undeclared_parameters_are_registered_with_inferred_type(operator, sc_a, ingest_as, now_minute):
    result = ingest_as(
        operator,
        [
            {
                "spacecraft": "SC-001",
                "timestamp": iso(now_minute),
                "parameters": {"star_tracker_ok": True, "heater_cycles": 3, "sun_angle": 12.5, "gps_fix": "3D"},
            },
            {
                "spacecraft": "SC-001",
                "timestamp": iso(now_minute + dt.timedelta(seconds=1)),
                "parameters": {"heater_cycles": 3.5, "gps_fix": "2D"},
            },
        ],
    )
    assert result.stored == 6
    assert sorted(result.registered) == [
        "SC-001/gps_fix",
        "SC-001/heater_cycles",
        "SC-001/star_tracker_ok",
        "SC-001/sun_angle",
    ]
    types = dict(ParameterDefinition.objects.filter(spacecraft=sc_a, declared=False).values_list("name", "type"))
    assert types == {"star_tracker_ok": "bool", "heater_cycles": "float", "sun_angle": "float", "gps_fix": "enum"}
    assert ParameterDefinition.objects.get(name="gps_fix").enum_values == ["3D", "2D"]


@pytest.mark.parametrize(
    ("item", "field", "needle"),
    [
        (
            {"spacecraft": "SC-001", "timestamp": "2026-01-01T00:00:00", "parameters": {"battery_soc": 1.0}},
            "timestamp",
            "offset",
        ),
        ({"spacecraft": "SC-001", "timestamp": "yesterday", "parameters": {"battery_soc": 1.0}}, "timestamp", "ISO"),
        ({"spacecraft": "SC-001", "parameters": {"battery_soc": 1.0}}, "timestamp", "required"),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"battery_soc": "high"}},
            "parameters.battery_soc",
            "number",
        ),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"battery_soc": True}},
            "parameters.battery_soc",
            "number",
        ),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"imaging_mode": "WARP"}},
            "parameters.imaging_mode",
            "not one of",
        ),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"images_captured": 1.5}},
            "parameters.images_captured",
            "integer",
        ),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"battery_soc": float("nan")}},
            "parameters.battery_soc",
            "finite",
        ),
        (
            {"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {"Bad-Name": 1}},
            "parameters.Bad-Name",
            "lowercase",
        ),
        ({"spacecraft": "SC-001", "timestamp": "NOW", "parameters": {}}, "parameters", "required"),
        ({"spacecraft": "SC-404", "timestamp": "NOW", "parameters": {"battery_soc": 1.0}}, "spacecraft", "unknown"),
        ({"timestamp": "NOW", "parameters": {"battery_soc": 1.0}}, "spacecraft", "required"),
        (
            {"spacecraft": "SC-001", "timestamp": "2999-01-01T00:00:00Z", "parameters": {"battery_soc": 1.0}},
            "timestamp",
            "outside",
        ),
    ],
)
def test_bad_item_names_index_and_field_and_writes_nothing(operator, sc_a, ingest_as, now_minute, item, field, needle):
    item = {**item}
    if item.get("timestamp") == "NOW":
        item["timestamp"] = iso(now_minute + dt.timedelta(seconds=30))
    good = batch(sc_a, now_minute, n=2)
    with pytest.raises(TelemetryInputError) as error:
        ingest_as(operator, [*good, item])
    assert error.value.field == f"items[2].{field}"
    assert needle in error.value.message
    assert count_samples(sc_a) == 0
    assert not LatestValue.objects.exists()
    assert not ParameterDefinition.objects.filter(declared=False).exists()


def test_foreign_spacecraft_is_unknown(stranger, operator, sc_a, make_spacecraft, org_b, ingest_as, now_minute):
    sc_b = make_spacecraft(org_b, "SC-001")
    for ref in ("SC-001", str(sc_a.pk)):
        if ref == "SC-001":
            # For the stranger, SC-001 means their own spacecraft: it goes there, never to org A.
            ingest_as(stranger, batch(sc_b, now_minute, n=1, ref=ref))
            assert count_samples(sc_b) == 3 and count_samples(sc_a) == 0
        else:
            with pytest.raises(TelemetryInputError, match="unknown spacecraft"):
                ingest_as(stranger, batch(sc_a, now_minute, n=1, ref=ref))
    assert count_samples(sc_a) == 0


def test_viewer_may_not_write(viewer, sc_a, ingest_as, now_minute):
    with pytest.raises(IngestForbidden):
        ingest_as(viewer, batch(sc_a, now_minute))
    assert count_samples(sc_a) == 0


def test_older_sample_does_not_replace_latest(operator, sc_a, ingest_as, now_minute):
    ingest_as(operator, batch(sc_a, now_minute + dt.timedelta(minutes=1), n=1))
    ingest_as(operator, batch(sc_a, now_minute, n=1))
    latest = LatestValue.objects.get(parameter__spacecraft=sc_a, parameter__name="battery_soc")
    assert latest.time == now_minute + dt.timedelta(minutes=1)


def test_history_creates_day_partitions(operator, sc_a, ingest_as):
    old = dt.datetime(2024, 3, 5, 12, tzinfo=dt.UTC)
    result = ingest_as(operator, batch(sc_a, old, n=2))
    assert result.stored == 6
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_sample_p20240305")
        assert cursor.fetchone()[0] >= 6


def test_config_change_updates_definitions(operator, owner, sc_a, ingest_as, now_minute):
    from spacecraft.profiles import PROFILES
    from spacecraft.services import change_config

    ingest_as(operator, batch(sc_a, now_minute, n=1))
    params = {k: v for k, v in PROFILES["LEO_IMAGING"].items() if k != "images_captured"}
    params["battery_soc"] = {**params["battery_soc"], "warn_low": 40}
    change_config(spacecraft=sc_a, parameters=params, actor=owner, note="t")
    ingest_as(operator, batch(sc_a, now_minute + dt.timedelta(minutes=1), n=1))
    soc = ParameterDefinition.objects.get(spacecraft=sc_a, name="battery_soc")
    assert soc.warn_low == 40
    assert not ParameterDefinition.objects.get(spacecraft=sc_a, name="images_captured").declared


def test_empty_batch_is_fine_and_non_list_is_not(operator, sc_a, ingest_as):
    assert ingest_as(operator, []).received == 0
    with pytest.raises(TelemetryInputError):
        services.ingest(snapshots={"a": 1}, scope=services.organization_scope(sc_a.organization))


@pytest.mark.parametrize("snapshots", [10, 500])  # 30 samples: one INSERT; 1,500: the streamed COPY
def test_small_and_large_batches_store_overlaps_exactly_once(operator, sc_a, ingest_as, now_minute, snapshots):
    assert (snapshots * 3 <= sample_writes.SMALL_BATCH) == (snapshots == 10)
    first = ingest_as(operator, batch(sc_a, now_minute, n=snapshots))
    assert (first.stored, first.duplicates) == (3 * snapshots, 0)
    half = snapshots // 2
    overlapping = batch(sc_a, now_minute + dt.timedelta(seconds=half), n=snapshots)
    second = ingest_as(operator, overlapping)
    assert (second.received, second.stored, second.duplicates) == (3 * snapshots, 3 * half, 3 * (snapshots - half))
    assert count_samples(sc_a) == 3 * (snapshots + half)


def test_a_small_batch_writes_samples_latest_values_and_roll_up_marks_in_one_statement(
    operator, sc_a, ingest_as, now_minute
):
    ingest_as(operator, batch(sc_a, now_minute, n=1))
    with CaptureQueriesContext(connection) as queries:
        result = ingest_as(operator, batch(sc_a, now_minute + dt.timedelta(minutes=2), n=1))
    assert (result.stored, result.duplicates) == (3, 0)
    writes = [q["sql"] for q in queries if "telemetry_latestvalue" in q["sql"] or "telemetry_sample " in q["sql"]]
    assert len(writes) == 1 and "telemetry_pending_rollup" in writes[0]
    latest = LatestValue.objects.get(parameter__spacecraft=sc_a, parameter__name="battery_soc")
    assert latest.time == now_minute + dt.timedelta(minutes=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM telemetry_pending_rollup WHERE bucket = %s", [now_minute + dt.timedelta(minutes=2)]
        )
        assert cursor.fetchone() is not None
    # Sent again: nothing stored, and the latest value is not reported as changed.
    again = ingest_as(operator, batch(sc_a, now_minute + dt.timedelta(minutes=2), n=1))
    assert (again.stored, again.duplicates) == (0, 3)


def test_the_spacecraft_lookup_runs_as_a_prepared_statement(operator, sc_a, ingest_as, now_minute):
    with CaptureQueriesContext(connection) as queries:
        ingest_as(operator, batch(sc_a, now_minute, n=1))
    lookup = [q["sql"] for q in queries if q["sql"].startswith('SELECT "spacecraft_spacecraft"."id"')]
    assert len(lookup) == 1 and "$1" in lookup[0]  # bound on the server: planned once per connection


def test_recent_partitions_are_remembered_only_after_a_real_commit(
    operator, sc_a, ingest_as, now_minute, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(archive_writes, "_recent_partitions", set())
    with django_capture_on_commit_callbacks(execute=True):  # inside the test's transaction
        ingest_as(operator, batch(sc_a, now_minute, n=1))
    assert archive_writes._recent_partitions == set()  # would vanish with the rollback: not remembered
    today = dt.datetime.now(dt.UTC).date()
    archive_writes._recent_partitions.add(today)
    with CaptureQueriesContext(connection) as queries:
        assert archive_writes.ensure_partitions(days=[today]) == []
    assert len(queries) == 0  # a remembered recent day: no query
    old = dt.date(2024, 7, 1)
    archive_writes._recent_partitions.add(old)  # older days are always checked (retention may drop them)
    assert archive_writes.ensure_partitions(days=[old]) == [archive.partition_name(old)]
