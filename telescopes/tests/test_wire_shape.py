"""Live messages on `telescopes` carry the REST representations: a device (with `status_text`), an
operation (its `kind`, not a renamed `operation`), a session (with the server's `can_abort`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from telescopes import monitoring, operation_records, tracking
from telescopes.models import AlpacaDevice, ObservationSession, Observatory, Operation, SessionStatus

pytestmark = pytest.mark.django_db


def test_device_operation_and_session_messages_are_what_the_api_answers(
    api, operator, org_a, sc_a, live_sent, django_capture_on_commit_callbacks
):
    observatory = Observatory.objects.create(organization=org_a, name="Obs", latitude_deg=37.9, longitude_deg=-75.5)
    scope = AlpacaDevice.objects.create(observatory=observatory, device_type="telescope", host="127.0.0.1", port=9)
    operation = Operation.objects.create(
        device=scope, kind="park", requested_by=operator, timeout_s=30, deadline=timezone.now()
    )
    start = timezone.now() + timedelta(hours=1)
    session = ObservationSession.objects.create(
        observatory=observatory,
        telescope=scope,
        spacecraft=sc_a,
        tle_line1="1",
        tle_line2="2",
        start=start,
        end=start + timedelta(minutes=10),
    )
    client = api(operator)
    assert client.get(f"/api/v1/observation-sessions/{session.pk}/").json()["can_abort"] is True
    with django_capture_on_commit_callbacks(execute=True):
        monitoring.apply_status(device=scope, level="healthy", detail="ok", status={"altitude": 45.0, "atpark": False})
        operation_records.finish_operation(operation=operation, status="failed", error="mount refused")
        tracking._finish(session, SessionStatus.FAILED, error="no pass")
    sent = {m["kind"]: m["data"] for topic, m in live_sent if topic == "telescopes"}
    assert sent["device"] == client.get(f"/api/v1/alpaca-devices/{scope.pk}/").json()
    assert sent["device"]["status_text"]
    assert sent["operation"] == client.get(f"/api/v1/telescope-operations/{operation.pk}/").json()
    assert sent["operation"]["kind"] == "park" and sent["operation"]["requested_by"] == operator.username
    assert sent["session"] == client.get(f"/api/v1/observation-sessions/{session.pk}/").json()
    assert sent["session"]["status"] == "failed" and sent["session"]["can_abort"] is False
