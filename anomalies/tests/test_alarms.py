"""One alarm per (spacecraft, parameter) condition (ISA-18.2): several detectors on one row,
playback analysed once in sample order and never paged, suppression by mode, chattering, the
stale detector on sparse parameters, escalation once per condition, and the migration that
folds the per-detector episodes of old."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.core import mail

from anomalies import selectors, services
from anomalies.models import AlarmState, Anomaly, AnomalyComment, Arrival, IsaState
from anomalies.services import sweeps
from spacecraft.models import Mode

pytestmark = pytest.mark.django_db
URL = "/api/v1/anomalies/"
WOBBLE = [0.0, 0.3, -0.2, 0.25, -0.1, 0.15, -0.3, 0.05]


def series(n, level=28.0, scale=1.0):
    return [level + scale * WOBBLE[i % len(WOBBLE)] for i in range(n)]


@pytest.fixture
def stepped(make_spacecraft, org_a):
    """One float parameter with limits, sent every second; payload telemetry for suppression."""
    params = {
        "bus_v": {
            "subsystem": "power",
            "units": "V",
            "type": "float",
            "warn_low": 20.0,
            "warn_high": 36.0,
            "crit_low": 16.0,
            "crit_high": 40.0,
        },
        "payload_i": {"subsystem": "payload", "units": "A", "type": "float", "warn_high": 5.0, "crit_high": 8.0},
    }
    return make_spacecraft(org_a, "SC-STEP", parameters=params)


def test_one_alarm_per_condition_with_every_detector(stepped, send, api, viewer):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    send(stepped, start, {"bus_v": series(120) + [41.0] * 4 + series(20)})
    sweeps.sweep()
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    kinds = {d["kind"] for d in alarm.detectors}
    assert {"limit", "rate", "zscore"} <= kinds  # one row, every detector that fired recorded on it
    assert alarm.severity == "critical" and not alarm.is_late
    assert alarm.started_at == start + dt.timedelta(seconds=120)
    assert all(d["first_at"] and d["last_at"] for d in alarm.detectors)
    row = api(viewer).get(URL, {"spacecraft": str(stepped.pk)}).json()["results"][0]
    for key in ("spacecraft", "designation", "parameter", "severity", "state", "started_at", "detected_at"):
        assert key in row
    assert {"last_seen_at", "cleared_at", "is_late", "detectors", "isa_state"} <= set(row)
    assert {d["kind"] for d in row["detectors"]} == kinds
    assert api(viewer).get(URL, {"detector": "zscore"}).json()["count"] == 1  # any detector on the row
    # Back to normal but not acknowledged: returned-to-normal unacknowledged; acknowledging ends it.
    assert alarm.cleared_at is not None and alarm.isa_state == IsaState.RTN_UNACKNOWLEDGED


def test_playback_is_analysed_once_in_sample_order(stepped, send):
    """A day-old pass: the statistical detectors see it (a stuck value), the alarm carries the
    time the samples were taken, and sending the same pass again creates nothing new."""
    old = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    values = series(150) + [28.3] * 30 + series(60)
    send(stepped, old, {"bus_v": values})
    assert Arrival.objects.exists()
    first = sweeps.sweep()
    assert not Arrival.objects.exists()
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.is_late and alarm.detector == "flatline"
    assert alarm.started_at == old + dt.timedelta(seconds=157)  # the 8th stuck sample, as it was taken
    before = list(Anomaly.objects.values_list("pk", "sample_count", "last_seen_at", "detectors"))
    send(stepped, old, {"bus_v": values})  # re-ingested: stores nothing, analyses nothing
    assert not Arrival.objects.exists()
    again = sweeps.sweep()
    assert list(Anomaly.objects.values_list("pk", "sample_count", "last_seen_at", "detectors")) == before
    assert first.opened == 1 and again.opened == 0


def test_playback_split_across_batches_is_one_alarm(stepped, send):
    old = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=6)
    values = series(150) + [28.3] * 40 + series(60)
    send(stepped, old, {"bus_v": values[:170]})
    send(stepped, old + dt.timedelta(seconds=170), {"bus_v": values[170:]})
    sweeps.sweep()
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.cleared_at is not None and alarm.returns == 0


def test_late_data_never_pages(stepped, send, org_a, django_capture_on_commit_callbacks):
    services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=1)
    old = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    send(stepped, old, {"bus_v": series(100) + [45.0] * 10})  # critical at the end of the dump
    sweeps.sweep()
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.is_late and alarm.severity == "critical" and alarm.state == AlarmState.OPEN
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_due(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == []
    assert mail.outbox == []


def test_suppressed_by_mode_is_recorded_never_paged(stepped, send, org_a, viewer):
    services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=1)
    stepped.mode = Mode.SAFE
    stepped.save(update_fields=["mode"])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    send(stepped, now - dt.timedelta(seconds=5), {"payload_i": [9.0, 9.0, 9.0]})
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.suppressed_by == "mode safe" and alarm.isa_state == IsaState.SUPPRESSED
    assert services.escalate_due(now=now + dt.timedelta(hours=1)) == []
    assert selectors.alarm_counts(viewer)["open"] == 0  # not on the operator's count
    assert selectors.flood_status(viewer)["count"] == 0


def test_chattering_is_folded_and_flagged(stepped, send, settings):
    settings.ANOMALY_OFF_DELAY_S = 0
    settings.ANOMALY_CHATTER_COUNT = 3
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=120)
    values = []
    for _ in range(6):
        values += [37.0, 37.0] + [28.0, 28.1, 28.2, 28.1]  # over the warning limit, back, again
    send(stepped, start, {"bus_v": values})
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.returns == 5 and alarm.chattering
    assert len(alarm.activations) == 6


def test_off_delay_keeps_a_flickering_condition_one_activation(stepped, send):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=120)
    send(stepped, start, {"bus_v": [37.0, 37.0, 28.0, 28.1, 28.2, 37.0, 37.0, 28.0, 28.0, 28.0]})
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.returns == 0 and len(alarm.activations) == 1 and not alarm.chattering


def test_a_sweep_episode_between_inline_activations_folds_them(stepped, send, settings):
    """Ingest's limit check records the whole batch first (two excursions, 24 s apart: two
    activations); the sweep then finds a stuck stretch between them, within the off-delay of both.
    Recorded in sample order that is one activation from the first onset: so it must end up."""
    settings.ANOMALY_OFF_DELAY_S = 10
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    values = series(100) + [37.0] * 4 + series(4) + [28.3] * 18 + series(4) + [37.0] * 4 + series(20)
    send(stepped, start, {"bus_v": values})
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert len(alarm.activations) == 2 and alarm.returns == 1  # the limit's two excursions
    sweeps.sweep()
    alarm.refresh_from_db()
    assert "flatline" in {d["kind"] for d in alarm.detectors}
    assert len(alarm.activations) == 1 and alarm.returns == 0
    assert alarm.activations[0][0] == alarm.started_at.isoformat()
    assert alarm.started_at <= start + dt.timedelta(seconds=100)


def test_stale_is_off_for_parameters_sent_once(stepped, send):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    send(stepped, now - dt.timedelta(seconds=60), {"payload_i": [1.0, 1.1, 1.0]})  # sent once, on an event
    send(stepped, now - dt.timedelta(seconds=60), {"bus_v": series(55)})  # the spacecraft keeps talking
    sweeps.sweep(now=now + dt.timedelta(seconds=30))
    assert not Anomaly.objects.filter(spacecraft=stepped, detectors__contains=[{"kind": "stale"}]).exists()


def test_old_samples_of_a_new_parameter_raise_no_stale_alarm(stepped, send):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    send(stepped, now - dt.timedelta(days=2), {"payload_i": [1.0 + 0.01 * i for i in range(24)]})
    send(stepped, now - dt.timedelta(seconds=60), {"bus_v": series(55)})
    sweeps.sweep(now=now)
    assert not Anomaly.objects.filter(spacecraft=stepped, detectors__contains=[{"kind": "stale"}]).exists()


def test_escalation_pages_once_per_condition(stepped, send, org_a, django_capture_on_commit_callbacks):
    services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=60)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    send(stepped, start, {"bus_v": series(120) + [41.0] * 4 + [41.5] * 30})
    sweeps.sweep()
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert len(alarm.detectors) >= 2
    with django_capture_on_commit_callbacks(execute=True):
        escalated = services.escalate_due(now=alarm.critical_since + dt.timedelta(seconds=61))
    assert [a.pk for a in escalated] == [alarm.pk] and len(mail.outbox) == 1


def test_acknowledged_and_back_to_normal_closes_the_alarm(stepped, send, operator):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=100)
    send(stepped, start, {"bus_v": [37.0, 37.0, 28.0, 28.0, 28.0]})
    (alarm,) = Anomaly.objects.filter(spacecraft=stepped)
    assert alarm.closed_at is None  # back to normal, waits for an acknowledgement
    alarm = services.acknowledge(anomaly=alarm, user=operator)
    assert alarm.closed_at is not None and alarm.isa_state == IsaState.NORMAL
    send(stepped, start, {"bus_v": [37.0, 37.0]}, offset_s=30)
    assert Anomaly.objects.filter(spacecraft=stepped).count() == 2  # the next excursion is a new alarm


def test_migration_folds_episodes_of_one_condition(limited, send, t0, operator):
    migration = importlib.import_module("anomalies.migrations.0005_fold_episodes")
    send(limited, t0, {"bus_voltage": [33.0, 33.0]})
    (limit,) = Anomaly.objects.filter(parameter_name="bus_voltage")
    fields = {f.name: getattr(limit, f.name) for f in Anomaly._meta.fields if f.name not in ("id", "created_at")}
    # As the old detection stored them: one row per detector, overlapping in time.
    zscore = Anomaly.objects.create(
        **{
            **fields,
            "detector": "zscore",
            "threshold": "zscore>6",
            "detectors": [],
            "started_at": limit.started_at + dt.timedelta(seconds=1),
            "closed_at": limit.started_at,  # the new constraint allows one live row; the fold recomputes it
        }
    )
    AnomalyComment.objects.create(anomaly=zscore, author=operator, text="seen")
    history = Anomaly.objects.create(
        **{
            **fields,
            "started_at": limit.started_at - dt.timedelta(days=3),
            "detected_at": limit.started_at - dt.timedelta(days=3),
            "last_seen_at": limit.started_at - dt.timedelta(days=3),
            "cleared_at": limit.started_at - dt.timedelta(days=3) + dt.timedelta(minutes=1),
            "state": AlarmState.RESOLVED,
            "detectors": [],
            "closed_at": limit.started_at,
        }
    )
    migration.fold_episodes(apps, None)
    old, folded = Anomaly.objects.filter(parameter_name="bus_voltage").order_by("started_at")
    assert old.pk == history.pk and old.closed_at is not None and old.detectors[0]["kind"] == "limit"
    assert folded.pk == limit.pk and {d["kind"] for d in folded.detectors} == {"limit", "zscore"}
    assert folded.severity == "critical" and folded.closed_at is None
    assert folded.comments.count() == 1 and not Anomaly.objects.filter(pk=zscore.pk).exists()


def test_arrivals_of_parameters_without_detectors_are_consumed(make_spacecraft, org_a, send):
    params = {"mode_word": {"subsystem": "obc", "type": "enum", "enum_values": ["A", "B"], "detectors": {}}}
    params["mode_word"]["detectors"] = {"stale": {"enabled": False}}
    sc = make_spacecraft(org_a, "SC-ENUM", parameters=params)
    send(sc, dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30), {"mode_word": ["A", "B"]})
    assert Arrival.objects.exists()
    sweeps.sweep()
    assert not Arrival.objects.exists()


def test_out_of_service_and_back(alarm, api, operator, viewer, stranger, org_a):
    services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=1)
    assert api(viewer).post(f"{URL}{alarm.pk}/remove-from-service/", {}, format="json").status_code == 403
    assert api(stranger).post(f"{URL}{alarm.pk}/remove-from-service/", {}, format="json").status_code == 404
    r = api(operator).post(f"{URL}{alarm.pk}/remove-from-service/", {"note": "sensor swap"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "out_of_service" and r.json()["isa_state"] == "out_of_service"
    assert services.escalate_due(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == []
    assert api(operator).post(f"{URL}{alarm.pk}/remove-from-service/", {}, format="json").status_code == 409
    r = api(operator).post(f"{URL}{alarm.pk}/return-to-service/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "open"
    assert api(operator).post(f"{URL}{alarm.pk}/return-to-service/", {}, format="json").status_code == 409
