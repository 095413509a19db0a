"""Escalation of unacknowledged criticals (mail in Django's outbox), auto-unshelve, and the live
message on detection through the real channel layer (Redis)."""

import asyncio
import contextlib
import datetime as dt
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core import mail

from anomalies import services
from anomalies.models import AlarmState, Anomaly
from anomalies.services import sweeps
from missionops.live import group_name
from missionops.models import Event


@pytest.fixture
def policy(org_a):
    return services.set_policy(organization=org_a, on_call_emails=["oncall@example.org"], escalate_after_s=60)


@pytest.mark.django_db
def test_escalates_after_timeout_with_mail(alarm, policy, django_capture_on_commit_callbacks):
    since = alarm.critical_since
    assert services.escalate_due(now=since + dt.timedelta(seconds=59)) == []
    with django_capture_on_commit_callbacks(execute=True):
        (escalated,) = services.escalate_due(now=since + dt.timedelta(seconds=61))
    assert escalated.escalation_level == 1
    (message,) = mail.outbox
    assert message.to == ["oncall@example.org"] and "ESCALATION L1" in message.subject
    assert "crit_high" in message.body
    assert Event.objects.filter(kind="anomaly.escalated", payload__level=1).count() == 1
    # Running again at the same time does nothing; the next period escalates one level more.
    assert services.escalate_due(now=since + dt.timedelta(seconds=61)) == []
    with django_capture_on_commit_callbacks(execute=True):
        (again,) = services.escalate_due(now=since + dt.timedelta(seconds=125))
    assert again.escalation_level == 2 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_acknowledged_shelved_warning_and_late_never_escalate(alarm, policy, operator, limited, send):
    later = alarm.critical_since + dt.timedelta(hours=1)
    services.acknowledge(anomaly=alarm, user=operator)
    assert services.escalate_due(now=later) == []
    old = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    send(limited, old, {"bus_voltage": [33.0, 33.0, 28, 28, 28]})
    sweeps.sweep()
    late = Anomaly.objects.get(is_late=True)
    assert late.severity == "critical"
    assert services.escalate_due(now=later) == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_auto_unshelve(alarm, operator):
    now = dt.datetime.now(dt.UTC)
    services.shelve(anomaly=alarm, user=operator, until=now + dt.timedelta(minutes=5), now=now)
    assert services.unshelve_due(now=now + dt.timedelta(minutes=4)) == 0
    assert services.unshelve_due(now=now + dt.timedelta(minutes=6)) == 1
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN and alarm.shelved_until is None
    assert Event.objects.filter(kind="anomaly.unshelved", payload__automatic=True).exists()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_live_message_on_detection(limited, send, t0):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    groups = [group_name(limited.organization_id, "alarms"), group_name(limited.organization_id, f"sc.{limited.pk}")]
    for group in groups:
        await layer.group_add(group, channel)
    await database_sync_to_async(send)(limited, t0, {"bus_voltage": [33.0, 33.0]})
    received = []
    deadline = time.monotonic() + 3.0
    # Wait for the two detections; other messages (the spacecraft's creation, telemetry) may interleave.
    while time.monotonic() < deadline and len([m for m in received if m["data"].get("kind") == "anomaly.detected"]) < 2:
        with contextlib.suppress(TimeoutError):
            received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
    alarms = [m for m in received if m["data"].get("kind") == "anomaly.detected"]
    assert {m["topic"] for m in alarms} == {"alarms", f"sc.{limited.pk}"}
    assert alarms[0]["data"]["data"]["threshold"] == "crit_high"
    assert alarms[0]["data"]["data"]["severity"] == "critical"
    for group in groups:
        await layer.group_discard(group, channel)
