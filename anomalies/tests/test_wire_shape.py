"""Live alarm messages carry the alarm as the REST API shows it (`{"kind", "data"}`), with the
workflow's `can_*` rules from the server, and the event recording a change stores the same."""

import pytest

from missionops.models import Event

pytestmark = pytest.mark.django_db


def _listed(client, anomaly_id):
    [row] = [a for a in client.get("/api/v1/anomalies/").json()["results"] if a["id"] == anomaly_id]
    return row


def test_an_alarm_message_is_its_rest_representation(
    api, operator, alarm, live_sent, django_capture_on_commit_callbacks
):
    client = api(operator)
    shown = _listed(client, alarm.pk)
    assert (shown["can_acknowledge"], shown["can_shelve"], shown["can_unshelve"], shown["can_resolve"]) == (
        True,
        True,
        False,
        True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post(f"/api/v1/anomalies/{alarm.pk}/acknowledge/", {"note": "seen"}, format="json").status_code
            == 200
        )
    sent = [(topic, m) for topic, m in live_sent if m["kind"] == "anomaly.acknowledged"]
    assert {topic for topic, _ in sent} == {"alarms", f"sc.{alarm.spacecraft_id}"}
    now_shown = _listed(client, alarm.pk)
    assert all(m == {"kind": "anomaly.acknowledged", "data": now_shown} for _, m in sent)
    assert now_shown["can_acknowledge"] is False and now_shown["state"] == "acknowledged"
    payload = Event.objects.filter(kind="anomaly.acknowledged").latest("created_at").payload
    assert payload == {**now_shown, "note": "seen"}
