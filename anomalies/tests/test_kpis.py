"""Alarm KPIs on a known alarm history (selector, API, page), the flood status and banner, the
no-on-call banner, and the forecast endpoint with its detector."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from anomalies import selectors, services
from anomalies.forecast_detector import ForecastDetector
from anomalies.models import AlarmState, Anomaly
from telemetry.models import ParameterDefinition

pytestmark = pytest.mark.django_db
URL = "/api/v1/anomalies/"


@pytest.fixture
def history(limited):
    """A known history: 12 alarms in the first 10 minutes (a flood), 2 in the next, a standing one
    from two days ago, a chattering one, one shelved past its time, and one played back."""
    since = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    made = []

    def alarm(name, created, **fields):
        definition, _ = ParameterDefinition.objects.get_or_create(
            spacecraft=limited, name=name, defaults={"type": "float", "subsystem": "power"}
        )
        a = Anomaly.objects.create(
            organization_id=limited.organization_id,
            spacecraft=limited,
            parameter=definition,
            parameter_name=name,
            subsystem="power",
            detector="limit",
            detectors=[],
            threshold="warn_high",
            message=f"{name} violated warn_high",
            started_at=fields.pop("started_at", created),
            detected_at=created,
            last_seen_at=created,
            cleared_at=fields.pop("cleared_at", created + dt.timedelta(seconds=30)),
            closed_at=fields.pop("closed_at", created + dt.timedelta(seconds=30)),
            **fields,
        )
        Anomaly.objects.filter(pk=a.pk).update(created_at=created)
        made.append(a)
        return a

    for i in range(12):
        alarm(f"p{i % 3}", since + dt.timedelta(seconds=30 * i))
    alarm("p0", since + dt.timedelta(minutes=12), returns=4, chattering=True)
    alarm("p1", since + dt.timedelta(minutes=13))
    standing = alarm(
        "old",
        since + dt.timedelta(minutes=20),
        started_at=since - dt.timedelta(days=2),
        cleared_at=None,
        closed_at=None,
    )
    shelved = alarm(
        "shelf",
        since + dt.timedelta(minutes=25),
        state=AlarmState.SHELVED,
        shelved_from=AlarmState.OPEN,
        shelved_until=since + dt.timedelta(minutes=30),
        cleared_at=None,
        closed_at=None,
    )
    alarm("late", since + dt.timedelta(minutes=5), is_late=True)
    return since, standing, shelved


def test_kpis_on_a_known_history(history, viewer):
    since, standing, shelved = history
    kpis = selectors.alarm_kpis(viewer, since=since, until=since + dt.timedelta(hours=1))
    assert kpis["new_alarms"] == 16  # the played-back one is not counted
    assert [b["count"] for b in kpis["series"][:3]] == [12, 2, 2]
    assert kpis["per_10_min_peak"] == 12 and kpis["per_10_min_average"] == round(16 / 6, 2)
    assert kpis["flood_time_pct"] == round(100 / 6, 1)
    top = kpis["bad_actors"][0]
    assert (top["parameter"], top["alarms"], top["activations"]) == ("p0", 5, 9)
    assert [a["id"] for a in kpis["standing"]] == [standing.pk]
    assert [a["parameter"] for a in kpis["chattering"]] == ["p0"]
    assert [a["id"] for a in kpis["shelved_overdue"]] == [shelved.pk]


def test_kpi_api_scoping_and_bad_input(history, api, viewer, stranger):
    since, _, _ = history
    until = since + dt.timedelta(hours=1)
    r = api(viewer).get(f"{URL}kpis/", {"since": since.isoformat(), "until": until.isoformat()})
    assert r.status_code == 200 and r.json()["new_alarms"] == 16
    assert api(viewer).get(f"{URL}kpis/").status_code == 200  # default: the last 24 h
    assert api(stranger).get(f"{URL}kpis/", {"since": since.isoformat()}).json()["new_alarms"] == 0
    r = api(viewer).get(f"{URL}kpis/", {"since": "yesterday"})
    assert r.status_code == 400 and r.json()["field"] == "since"
    r = api(viewer).get(f"{URL}kpis/", {"since": until.isoformat(), "until": since.isoformat()})
    assert r.status_code == 400 and r.json()["field"] == "since"
    r = api(viewer).get(f"{URL}kpis/", {"since": (since - dt.timedelta(days=40)).isoformat()})
    assert r.status_code == 400
    assert api().get(f"{URL}kpis/").status_code in (401, 403)


def test_kpi_page(history, client, viewer):
    client.force_login(viewer)
    body = client.get("/alarms/kpis/").content.decode()
    assert "Alarm KPIs" in body and "bad actors" in body and "p0" in body
    assert "since: " in client.get("/alarms/kpis/", {"since": "nonsense"}).content.decode()
    client.logout()
    assert client.get("/alarms/kpis/").status_code == 302


def test_flood_banner_grouped_and_on_call_banner(limited, send, client, viewer, api, org_a):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for i in range(11):  # eleven new alarms within minutes: a flood
        definition, _ = ParameterDefinition.objects.get_or_create(
            spacecraft=limited, name=f"f{i}", defaults={"type": "float", "subsystem": "thermal"}
        )
        Anomaly.objects.create(
            organization_id=limited.organization_id,
            spacecraft=limited,
            parameter=definition,
            parameter_name=f"f{i}",
            subsystem="thermal",
            detector="limit",
            threshold="warn_high",
            message="x",
            started_at=now,
            detected_at=now,
            last_seen_at=now,
        )
    flood = api(viewer).get(f"{URL}flood/").json()
    assert flood["flood"] and flood["count"] == 11
    assert flood["groups"] == [{"designation": "SC-LIM", "group": "thermal", "count": 11}]
    client.force_login(viewer)
    body = client.get("/alarms/").content.decode()
    assert "ALARM FLOOD" in body and "SC-LIM / thermal" in body
    assert "Escalation pages nobody" in body  # no on-call address configured
    services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=60)
    assert "Escalation pages nobody" not in client.get("/alarms/").content.decode()


def test_console_row_shows_detector_chips(alarm, client, viewer):
    client.force_login(viewer)
    body = client.get("/alarms/").content.decode()
    assert 'class="chip sev-critical' in body and ">limit</span>" in body
    assert "Unacknowledged" in body


def test_forecast_warns_before_a_linear_drift_crosses():
    t = np.arange(0, 6 * 3600, 10.0)
    rng = np.random.default_rng(1)
    x = 50 + 0.6 * np.sin(2 * np.pi * t / 5400) + rng.normal(0, 0.4, len(t))
    drift = t > 3 * 3600
    x[drift] -= (t[drift] - 3 * 3600) * (20 / 3600 / 3)  # 20 units in 3 h: crosses 35 after 2 h 15 min
    crossing = 3 * 3600 + 15 / (20 / 3600 / 3)
    detector = ForecastDetector(warn_low=35.0, warn_high=65.0, min_trend_sigma=1.5)
    times, ttl, flags = detector.forecasts(t, x, None)
    warned = times[flags.level > 0]
    assert len(warned) and warned[0] < crossing - 1800  # at least 30 minutes ahead
    assert not (flags.level[times < 3 * 3600] > 0).any()  # no warning on the flat part
    found = detector.fit(t, x, float(warned[0]))
    assert found["limit_name"] == "warn_low" and found["warns"] and found["slope_per_s"] < 0


def test_forecast_api(sc_a, send, api, viewer, stranger):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(seconds=3 * 3600)
    values = [80 - 40 * i / 1080 for i in range(1080)]  # falling 40 % in 3 h, one sample every 10 s
    send(sc_a, start, {"battery_soc": values, "images_captured": list(range(1080))}, step_s=10)
    r = api(viewer).get("/api/v1/telemetry/forecast/", {"spacecraft": sc_a.designation, "parameter": "images_captured"})
    assert r.status_code == 204  # a counter without warning limits: no forecast
    r = api(viewer).get("/api/v1/telemetry/forecast/", {"spacecraft": sc_a.designation, "parameter": "battery_soc"})
    body = r.json()
    assert r.status_code == 200 and body["slope_per_s"] < 0 and body["limit_name"] == "warn_low"
    assert body["warns"] and len(body["projection"]) == 2 and body["crosses_at"] is not None
    assert api(viewer).get("/api/v1/telemetry/forecast/", {"spacecraft": sc_a.designation}).status_code == 400
    assert (
        api(viewer)
        .get("/api/v1/telemetry/forecast/", {"spacecraft": sc_a.designation, "parameter": "nope"})
        .status_code
        == 404
    )
    r = api(stranger).get("/api/v1/telemetry/forecast/", {"spacecraft": sc_a.designation, "parameter": "battery_soc"})
    assert r.status_code == 404
