"""An event has one wire shape: the live `events` message, a webhook body and the event stream's
message carry its REST representation."""

import json

import pytest

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
