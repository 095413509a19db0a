"""An event has one wire shape: the live `events` message, a webhook body and the event stream's
message carry its REST representation. A `component` message on `health` is the /health/ report's
row of the component that changed."""

import json
import re
import time

import pytest

from missionops import health
from missionops.representations import EventSerializer, represent
from missionops.services import record_event, webhooks

pytestmark = pytest.mark.django_db


def test_an_event_is_sent_live_and_to_webhooks_as_the_api_shows_it(
    api, operator, org_a, sc_a, live_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record_event(
            organization=org_a, kind="mode.changed", subject=sc_a, actor=operator, payload={"to": "safe"}
        )
    shown = api(operator).get(f"/api/v1/events/{event.pk}/").json()
    assert shown["organization"] == "org-a" and shown["spacecraft"] == str(sc_a.pk) and shown["summary"]
    assert [m for topic, m in live_sent if topic == "events"] == [{"kind": "event", "data": shown}]
    assert json.loads(webhooks.body_for(event)) == {"event": shown}
    assert represent(EventSerializer, event) == shown  # the event stream's message


def _as_shown(row):
    """A report row less what differs between two reads: a check's latency, seconds since a beat."""
    return row and {"status": row["status"], "detail": re.sub(r"\d+ s ago", "N s ago", row["detail"])}


def test_a_component_message_is_its_row_of_the_health_report(
    client, org_a, live_sent, django_capture_on_commit_callbacks, settings
):
    settings.HEALTH_CHECK_TIMEOUT_S = 0.5
    settings.HEALTH_EXPECT_MQTT_BRIDGE = True
    settings.HEALTH_REGISTRY_KEY = f"health-test-{time.monotonic_ns()}:components"  # this test's own
    names = {"bridge-a": "mqtt_bridge", health.MQTT_BRIDGE: "mqtt_bridge", "job_worker:w1": health.JOB_WORKER}
    for name, kind in names.items():
        health.heartbeat(name, kind=kind, interval_s=0.2, detail="beating")
    time.sleep(0.6)  # three intervals: each is Unhealthy now

    def sweep(now=None):
        live_sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            transitions = health.sweep_components(now=now)
        assert {t["component"] for t in transitions} == set(names)
        return {
            name: row
            for topic, m in live_sent
            if topic == "health" and m["kind"] == "component" and set(m) == {"kind", "data"}
            for name, row in m["data"]["components"].items()
        }

    sent = sweep()
    shown = client.get("/health/").json()["components"]
    assert set(sent) == {"component:bridge-a", "mqtt_bridge", "job_workers"}
    for name in ("component:bridge-a", "mqtt_bridge", "job_workers"):
        assert set(sent[name]) == {"status", "latency_ms", "detail"}
        assert _as_shown(sent[name]) == _as_shown(shown[name])
    assert sent["component:bridge-a"] == {**shown["component:bridge-a"], "detail": sent["component:bridge-a"]["detail"]}
    assert sent["component:bridge-a"]["status"] == "Unhealthy" and sent["job_workers"]["status"] == "Degraded"

    sent = sweep(now=time.time() + health.FORGET_AFTER_S + 60)  # long silent: forgotten
    shown = client.get("/health/").json()["components"]
    assert sent["component:bridge-a"] is None and "component:bridge-a" not in shown
    assert _as_shown(sent["mqtt_bridge"]) == _as_shown(shown["mqtt_bridge"])
    assert sent["mqtt_bridge"]["status"] == "Degraded"
