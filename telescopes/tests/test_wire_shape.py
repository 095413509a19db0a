"""Live messages on `telescopes` carry the REST representations: a device (with `status_text`), an
operation (its `kind`, not a renamed `operation`), a session (with the server's `can_abort`); a
device's change of health on `health` is the same `device` message."""

import pytest

from telescopes.models import SessionStatus
from telescopes.services import monitoring, operation_records, tracking

pytestmark = pytest.mark.django_db


def test_device_operation_and_session_messages_are_what_the_api_answers(
    api, operator, observatory_records, live_sent, django_capture_on_commit_callbacks
):
    scope, operation, session = observatory_records
    client = api(operator)
    assert client.get(f"/api/v1/observation-sessions/{session.pk}/").json()["can_abort"] is True
    with django_capture_on_commit_callbacks(execute=True):
        monitoring.apply_status(device=scope, level="healthy", detail="ok", status={"altitude": 45.0, "atpark": False})
        operation_records.finish_operation(operation=operation, status="failed", error="mount refused")
        tracking._finish(session, SessionStatus.FAILED, error="no pass")
    sent = {m["kind"]: m["data"] for topic, m in live_sent if topic == "telescopes"}
    assert sent["device"] == client.get(f"/api/v1/alpaca-devices/{scope.pk}/").json()
    assert sent["device"]["status_text"]
    health = [m for topic, m in live_sent if topic == "health"]
    assert health == [{"kind": "device", "data": sent["device"]}] and sent["device"]["health_status"] == "healthy"
    assert sent["operation"] == client.get(f"/api/v1/telescope-operations/{operation.pk}/").json()
    assert sent["operation"]["kind"] == "park" and sent["operation"]["requested_by"] == operator.username
    assert sent["session"] == client.get(f"/api/v1/observation-sessions/{session.pk}/").json()
    assert sent["session"]["status"] == "failed" and sent["session"]["can_abort"] is False
