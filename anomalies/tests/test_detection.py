"""Detection against the real database: inline limit checks in ingest, sweeps, deduplication,
severity rising, latching, per-mode limits, onset context, late backfill, analysis."""

import datetime as dt

import pytest

from anomalies import analysis
from anomalies.models import AlarmState, Anomaly, DetectorCursor
from anomalies.services import sweeps
from missionops.models import Event
from spacecraft.models import Mode

pytestmark = pytest.mark.django_db


def anomalies_of(sc, **filters):
    return list(Anomaly.objects.filter(spacecraft=sc, **filters).order_by("started_at"))


def test_inline_limit_episode_across_batches_and_resent_batch(limited, send, t0):
    send(limited, t0, {"bus_voltage": [28, 31, 28, 28, 31]})  # one noisy sample, then a new run
    assert anomalies_of(limited) == []  # persistence 2: nothing yet
    send(limited, t0, {"bus_voltage": [31, 31.2, 30.8]}, offset_s=5)  # continues across the batch
    (a,) = anomalies_of(limited)
    assert a.detector == "limit" and a.threshold == "warn_high" and a.threshold_value == 30
    assert a.started_at == t0 + dt.timedelta(seconds=4) and a.detected_at == t0 + dt.timedelta(seconds=5)
    assert a.sample_count == 4 and a.peak_value == 31.2 and a.cleared_at is None
    assert "warn_high" in a.message
    # The same batch again: stored nothing twice, and no second anomaly or count.
    send(limited, t0, {"bus_voltage": [31, 31.2, 30.8]}, offset_s=5)
    a.refresh_from_db()
    assert Anomaly.objects.count() == 1 and a.sample_count == 4
    # Dither inside the deadband (29.6 > 30 - 0.5) keeps it one episode; three good samples clear it.
    send(limited, t0, {"bus_voltage": [29.6, 30.2, 29, 29, 29]}, offset_s=8)
    a.refresh_from_db()
    assert a.sample_count == 6 and a.cleared_at == t0 + dt.timedelta(seconds=12)
    assert Event.objects.filter(kind="anomaly.detected").count() == 1
    assert Event.objects.filter(kind="anomaly.cleared").count() == 1
    assert not DetectorCursor.objects.get(parameter=a.parameter, detector="limit").active


def test_severity_rises_within_the_episode(limited, send, t0):
    send(limited, t0, {"bus_voltage": [31, 31]})
    send(limited, t0, {"bus_voltage": [33, 31]}, offset_s=2)
    (a,) = anomalies_of(limited)
    assert a.severity == "critical" and a.threshold == "crit_high" and a.peak_value == 33
    assert a.critical_since == t0 + dt.timedelta(seconds=2)
    assert Event.objects.filter(kind="anomaly.severity_raised").count() == 1


def test_latching_holds_until_acknowledged(limited, send, t0, operator):
    from anomalies import services

    send(limited, t0, {"battery_temp": [36, 20, 20, 20]})
    (a,) = anomalies_of(limited)
    assert a.latching and a.latched and a.cleared_at is None
    services.acknowledge(anomaly=a, user=operator)
    a.refresh_from_db()
    assert a.state == AlarmState.ACKNOWLEDGED and not a.latched and a.cleared_at is not None


def test_limits_per_mode(limited, send, t0):
    limited.mode = Mode.SAFE
    limited.save(update_fields=["mode"])
    send(limited, t0, {"bus_voltage": [30.5, 30.5, 30.5]})
    assert anomalies_of(limited) == []  # safe mode allows up to 31
    send(limited, t0, {"bus_voltage": [31.5, 31.5]}, offset_s=3)
    (a,) = anomalies_of(limited)
    assert a.threshold_value == 31 and a.mode == "safe"


def test_context_of_subsystem_at_onset(limited, send, t0):
    send(limited, t0, {"battery_soc": [80, 81, 82], "bus_voltage": [28, 31, 31]})
    (a,) = anomalies_of(limited)
    assert a.context["battery_soc"]["value"] == 81
    assert "bus_voltage" not in a.context and "battery_temp" not in a.context  # other subsystem


def test_late_backfill_recorded_never_paged(limited, send, django_capture_on_commit_callbacks):
    old = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    send(limited, old, {"bus_voltage": [28, 33, 33, 33, 28, 28, 28, 28, 28]})
    assert anomalies_of(limited) == []  # played back: the sweep analyses it, in sample order
    before = Event.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        sweeps.sweep()
    (a,) = anomalies_of(limited)
    assert a.is_late and a.severity == "critical" and a.cleared_at is not None
    assert a.started_at == old + dt.timedelta(seconds=1)  # the time the samples were taken
    assert {d["kind"] for d in a.detectors} == {"limit", "rate"}  # one alarm, both detectors on it
    event = Event.objects.get(kind="anomaly.detected")
    assert event.payload["is_late"] is True
    # Only the event log's (one per event): nothing on `alarms` or `sc.<id>`.
    assert len(callbacks) == Event.objects.count() - before
    # Sending the backfill again records nothing more.
    send(limited, old, {"bus_voltage": [28, 33, 33, 33, 28, 28, 28, 28, 28]})
    sweeps.sweep()
    assert Anomaly.objects.count() == 1


def test_sweep_twice_same_episode_and_continues(sc_a, send, t0):
    values = [20.0 + 0.1 * (i % 7) for i in range(100)] + [20.35] * 12 + [20.0 + 0.1 * (i % 7) for i in range(20)]
    send(sc_a, t0 - dt.timedelta(seconds=60), {"payload_temp": values})
    now = t0 - dt.timedelta(seconds=60) + dt.timedelta(seconds=115)  # sees samples up to 110 (settle 5 s)
    first = sweeps.sweep(now=now)
    stuck = anomalies_of(sc_a, detector="flatline")
    assert len(stuck) == 1 and stuck[0].cleared_at is None
    again = sweeps.sweep(now=now)
    assert again.opened == 0 and len(anomalies_of(sc_a, detector="flatline")) == 1
    later = sweeps.sweep(now=now + dt.timedelta(seconds=40))
    (a,) = anomalies_of(sc_a, detector="flatline")
    assert a.cleared_at is not None and a.sample_count == 12 - 7
    assert first.opened >= 1 and later.cleared >= 1


def test_stale_parameter_while_spacecraft_talks(sc_a, send, t0):
    start = t0 - dt.timedelta(seconds=60)
    wobble = [0.0, 0.1, 0.05, 0.12, 0.02]
    bus = [28.0 + wobble[i % 5] for i in range(10)] + [None] * 30 + [28.1 + wobble[i % 5] for i in range(10)]
    send(sc_a, start, {"bus_voltage": bus, "battery_soc": [80.0 + wobble[i % 5] for i in range(50)]})
    now = start + dt.timedelta(seconds=30)
    sweeps.sweep(now=now)
    (a,) = anomalies_of(sc_a, detector="stale", parameter_name="bus_voltage")
    assert a.cleared_at is None and a.started_at == start + dt.timedelta(seconds=9)
    sweeps.sweep(now=start + dt.timedelta(seconds=56))
    a.refresh_from_db()
    assert a.cleared_at == start + dt.timedelta(seconds=40)
    assert len(anomalies_of(sc_a, detector="stale")) == 1


def test_analyze_finds_without_recording(limited, send, t0):
    send(limited, t0, {"bus_voltage": [28, 33, 33, 28, 28, 28], "battery_soc": [80] * 6})
    Anomaly.objects.all().delete()
    report = analysis.analyze(spacecraft=limited, limit=100, now=t0 + dt.timedelta(seconds=6))
    found = [(f["parameter"], f["detector"], f["threshold"]) for f in report["findings"]]
    assert ("bus_voltage", "limit", "crit_high") in found
    assert Anomaly.objects.count() == 0


def test_latch_of_an_acknowledged_alarm_shelved_clears_and_a_new_excursion_pages(limited, send, t0, operator):
    """Acknowledged, shelved, back to normal while shelved: the latch no longer waits for anyone, so it
    clears; a later excursion is a new alarm that escalates (it was merged into the old one)."""
    from anomalies import services

    send(limited, t0, {"battery_temp": [40.0]})
    (a,) = anomalies_of(limited)
    services.acknowledge(anomaly=a, user=operator)
    services.shelve(anomaly=a, user=operator, until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    send(limited, t0, {"battery_temp": [20.0, 20.0, 20.0]}, offset_s=1)
    a.refresh_from_db()
    assert a.cleared_at == t0 + dt.timedelta(seconds=2) and not a.latched
    a = services.unshelve(anomaly=a, user=operator)
    assert a.state == AlarmState.ACKNOWLEDGED and a.cleared_at is not None and not a.latched
    send(limited, t0, {"battery_temp": [50.0]}, offset_s=30)
    old, new = anomalies_of(limited)
    assert old.pk == a.pk and old.severity == "warning" and old.sample_count == 1
    assert new.state == AlarmState.OPEN and new.severity == "critical" and new.cleared_at is None
    services.set_policy(organization=limited.organization, on_call_emails=[], escalate_after_s=60)
    (escalated,) = services.escalate_due(now=new.critical_since + dt.timedelta(seconds=61))
    assert escalated.pk == new.pk


def test_unshelve_to_acknowledged_clears_a_held_latch(limited, send, t0, operator):
    """A row latched while shelved from acknowledged (made before the fix) clears when it returns to
    acknowledged; a later excursion opens a new alarm."""
    from anomalies import services

    send(limited, t0, {"battery_temp": [40.0]})
    (a,) = anomalies_of(limited)
    services.acknowledge(anomaly=a, user=operator)
    services.shelve(anomaly=a, user=operator, until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    send(limited, t0, {"battery_temp": [20.0, 20.0, 20.0]}, offset_s=1)
    Anomaly.objects.filter(pk=a.pk).update(latched=True, cleared_at=None)  # as the old detection left it
    a = services.unshelve(anomaly=a, user=operator)
    assert a.state == AlarmState.ACKNOWLEDGED and not a.latched and a.cleared_at is not None
    assert Event.objects.filter(kind="anomaly.cleared", payload__latched=True).count() == 1
    send(limited, t0, {"battery_temp": [50.0]}, offset_s=30)
    assert [(x.state, x.severity) for x in anomalies_of(limited)] == [("acknowledged", "warning"), ("open", "critical")]


def test_unshelve_to_open_keeps_the_latch_for_acknowledgement(limited, send, t0, operator):
    from anomalies import services

    send(limited, t0, {"battery_temp": [40.0]})
    (a,) = anomalies_of(limited)
    services.shelve(anomaly=a, user=operator, until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    send(limited, t0, {"battery_temp": [20.0, 20.0, 20.0]}, offset_s=1)
    a = services.unshelve(anomaly=a, user=operator)
    assert a.state == AlarmState.OPEN and a.latched and a.cleared_at is None
    a = services.acknowledge(anomaly=a, user=operator)
    assert not a.latched and a.cleared_at is not None


def test_migration_clears_latches_held_by_acknowledged_alarms(limited, send, t0, operator):
    import importlib

    from django.apps import apps

    from anomalies import services

    migration = importlib.import_module("anomalies.migrations.0003_clear_acknowledged_latches")
    send(limited, t0, {"battery_temp": [40.0], "bus_voltage": [33.0, 33.0]})
    stuck, held = anomalies_of(limited, latching=True) + anomalies_of(limited, latching=False)
    services.acknowledge(anomaly=stuck, user=operator)
    Anomaly.objects.filter(pk=stuck.pk).update(latched=True, cleared_at=None)
    Anomaly.objects.filter(pk=held.pk).update(latched=True)  # open: still waits for an acknowledgement
    migration.clear_acknowledged_latches(apps, None)
    stuck.refresh_from_db()
    held.refresh_from_db()
    assert not stuck.latched and stuck.cleared_at is not None
    assert held.latched and held.cleared_at is None


def test_out_of_order_pass_within_the_late_window_is_checked(make_spacecraft, org_a, send, t0):
    """A station delivering an earlier pass after another's later one: samples behind the cursor
    but newer than ANOMALY_LATE_AFTER_S are limit-checked (they were skipped), recorded as history."""
    params = {
        "bus_v": {
            "subsystem": "power",
            "type": "float",
            "warn_low": 26.0,
            "warn_high": 30.0,
            "crit_low": 24.0,
            "crit_high": 32.0,
        }
    }
    params["bus_v"]["detectors"] = {"limit": {"persistence": 2, "clear_after": 2}}
    sc = make_spacecraft(org_a, "SC-OOO", parameters=params)
    send(sc, t0, {"bus_v": [28, 33, 33, 28, 28, 28, 28, 28, 28, 28]}, offset_s=20)
    (first,) = anomalies_of(sc)
    send(sc, t0, {"bus_v": [28, 40, 41, 42, 43, 44, 45, 46, 28, 28]})
    earlier, again = anomalies_of(sc)  # behind the cursor, recent: checked in ingest, as history
    assert again.pk == first.pk and not first.is_late
    assert earlier.started_at == t0 + dt.timedelta(seconds=1) and earlier.peak_value == 46
    assert earlier.severity == "critical" and earlier.is_late and earlier.cleared_at is not None
    # Part of either pass sent again (seen alone, its episode starts later): nothing more.
    send(sc, t0, {"bus_v": [42, 43, 44, 45, 46, 28, 28]}, offset_s=3)
    send(sc, t0, {"bus_v": [33, 28, 28]}, offset_s=22)
    sweeps.sweep()
    assert len(anomalies_of(sc)) == 2


def test_sweep_runs_under_the_debug_cursor(sc_a, send, t0):
    """With DEBUG=true Django wraps cursors in CursorDebugWrapper, whose copy() takes no
    parameters: the sweep's binary COPY read failed on every spacecraft."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    values = [20.0 + 0.1 * (i % 7) for i in range(100)] + [20.35] * 12 + [20.0 + 0.1 * (i % 7) for i in range(20)]
    send(sc_a, t0 - dt.timedelta(seconds=60), {"payload_temp": values})
    with CaptureQueriesContext(connection):
        result = sweeps.sweep(now=t0 + dt.timedelta(seconds=55))
    assert result.opened >= 1 and len(anomalies_of(sc_a, detector="flatline")) == 1


def test_inline_limits_read_each_configuration_version_once_and_follow_a_new_one(limited, send, t0, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anomalies.models import Anomaly
    from spacecraft.models import ConfigVersion
    from spacecraft.services import change_config

    send(limited, t0, {"bus_voltage": [28.0]})
    with CaptureQueriesContext(connection) as queries:
        send(limited, t0 + dt.timedelta(seconds=1), {"bus_voltage": [28.5]})
    spec_reads = [q["sql"] for q in queries if 'FROM "spacecraft_configversion"' in q["sql"]]
    assert spec_reads == []  # the version came with the spacecraft; its parameters were read before
    parameters = ConfigVersion.objects.filter(spacecraft=limited).order_by("-version").first().parameters
    parameters["bus_voltage"] = {**parameters["bus_voltage"], "warn_high": 28.0, "limits_by_mode": {}}
    change_config(spacecraft=limited, parameters=parameters, actor=owner, note="tighter")
    send(limited, t0 + dt.timedelta(seconds=2), {"bus_voltage": [29.0, 29.0, 29.0]})
    alarm = Anomaly.objects.get(spacecraft=limited, parameter_name="bus_voltage")
    assert alarm.severity == "warning"
