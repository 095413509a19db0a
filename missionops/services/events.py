"""The event log: append an event, and the hook the outbox and webhooks hang on. An event's wire
shape (live, webhooks, the stream) is its REST representation: `representations.EventSerializer`."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.dispatch import Signal

from .. import live
from ..models import Event, Organization
from ..representations import EventSerializer
from ..tenancy import user_or_none

# Sent inside the transaction that appends the event (receivers: the event-stream outbox and the
# webhook deliveries, connected in MissionOpsConfig.ready): their rows commit with the event.
event_recorded = Signal()

SECURITY_PREFIX = "security."


def record_event(
    *,
    organization: Organization,
    kind: str,
    subject=None,
    actor=None,
    spacecraft_id=None,
    payload: dict | None = None,
    publish: bool = True,
) -> Event:
    """Append one event to the organization's log (and its event-stream outbox, in the same transaction);
    after commit, push it to the `events` topic."""
    if subject is not None and spacecraft_id is None and subject._meta.label_lower == "spacecraft.spacecraft":
        spacecraft_id = subject.pk
    actor_user = user_or_none(actor)
    with transaction.atomic():  # the event and its outbox row (the event stream) commit together
        event = Event.objects.create(
            organization=organization,
            kind=kind,
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            subject_repr=str(subject)[:200] if subject is not None else "",
            spacecraft_id=spacecraft_id,
            actor=actor_user,
            actor_repr=str(actor_user or actor or "system")[:150],
            payload=json_safe(payload or {}),
        )
        event_recorded.send(sender=Event, event=event)
    if publish and not kind.startswith(SECURITY_PREFIX):  # the audit trail is for admins only
        live.publish("events", live.live_message("event", EventSerializer, event), organization=organization)
    return event


class PayloadEncoder(DjangoJSONEncoder):
    """Datetimes, UUIDs, decimals (Django's encoder) and numpy scalars, as JSON."""

    def default(self, o):
        if hasattr(o, "item") and callable(o.item):  # numpy scalar
            return o.item()
        return super().default(o)


def json_safe(payload: dict) -> dict:
    """Event payloads are stored as JSON: normalize what services hand us (times become ISO 8601)."""
    return json.loads(json.dumps(payload, cls=PayloadEncoder))


def record_security_event_for_user(*, user, kind: str, payload: dict) -> None:
    """A security event about a user (login...) goes to each organization the user belongs to."""
    for organization in Organization.objects.filter(memberships__user=user):
        record_event(organization=organization, kind=kind, subject=user, actor=user, payload=payload)
