"""Platform operations: organizations, memberships and the event log."""

import json

from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.text import slugify

from . import event_stream
from .exceptions import ConflictError, DomainError
from .models import Event, Membership, Organization, Role
from .tenancy import user_or_none
from .webhooks import enqueue_deliveries

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
    from . import live

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
        event_stream.enqueue(event)
    if publish and not kind.startswith(SECURITY_PREFIX):  # the audit trail is for admins only
        live.publish("events", event_message(event), organization=organization)
    enqueue_deliveries(event)
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


def event_message(event: Event) -> dict:
    from .event_text import describe

    return {
        "id": str(event.id),
        "kind": event.kind,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "subject": event.subject_repr,
        "spacecraft": str(event.spacecraft_id) if event.spacecraft_id else None,
        "actor": event.actor_repr,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
        "summary": describe(event),
    }


def record_security_event_for_user(*, user, kind: str, payload: dict) -> None:
    """A security event about a user (login...) goes to each organization the user belongs to."""
    for organization in Organization.objects.filter(memberships__user=user):
        record_event(organization=organization, kind=kind, subject=user, actor=user, payload=payload)


@transaction.atomic
def create_organization(*, name: str, slug: str = "") -> Organization:
    slug = slug or slugify(name)
    if not slug:
        raise DomainError("organization name must contain letters or digits", field="name")
    if Organization.objects.filter(slug=slug).exists():
        raise ConflictError(f"organization {slug!r} already exists", field="slug")
    return Organization.objects.create(
        name=name,
        slug=slug,
        viewers_group=Group.objects.create(name=f"org:{slug}:viewers"),
        operators_group=Group.objects.create(name=f"org:{slug}:operators"),
    )


@transaction.atomic
def set_membership(*, organization: Organization, user, role: Role, actor=None) -> Membership:
    """Give `user` exactly `role` in `organization`: the role's permission groups follow."""
    if role not in Role.values:
        raise DomainError(f"unknown role {role!r}", field="role")
    from .apikeys import revoke_keys_beyond
    from .live import access_changed

    membership, created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        revoke_keys_beyond(organization=organization, creator=user, role=role, actor=actor)
        access_changed(user.pk)
    user.groups.add(organization.viewers_group)
    if membership.can_operate:
        user.groups.add(organization.operators_group)
    else:
        user.groups.remove(organization.operators_group)
    record_event(
        organization=organization,
        kind="security.membership.created" if created else "security.membership.changed",
        subject=membership,
        actor=actor,
        payload={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def remove_membership(*, membership: Membership, actor=None) -> None:
    from .apikeys import revoke_keys_beyond
    from .live import access_changed

    organization, user = membership.organization, membership.user
    revoke_keys_beyond(organization=organization, creator=user, role=None, actor=actor)
    access_changed(user.pk)
    user.groups.remove(organization.viewers_group, organization.operators_group)
    record_event(
        organization=organization,
        kind="security.membership.removed",
        subject=membership,
        actor=actor,
        payload={"user": user.get_username(), "role": membership.role},
    )
    membership.delete()
