"""Live messages: the ONE way sync code reaches browser sockets.

A topic is what a client asks for (`fleet`, `sc.<id>`, `alarms`, ...). Every group on the channel
layer is prefixed with the organization id, so an organization-wide topic such as `fleet` can
never carry another organization's data: isolation holds by construction, not by filtering.
"""

import json
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

# Topics every member of an organization may subscribe to.
ORGANIZATION_TOPICS = {"fleet", "events", "alarms", "jobs", "gpus", "telescopes", "passes", "health"}

# Topics about one object (`sc.<uuid>`, `job.<id>`): prefix -> resolver(user, ident) -> organization
# id if the user may view that object, else None. Apps register theirs in AppConfig.ready().
_object_topics: dict[str, Callable] = {}


class TopicRefused(Exception):
    pass


def register_object_topic(prefix: str, resolver: Callable) -> None:
    _object_topics[prefix] = resolver


def group_name(organization_id, topic: str) -> str:
    return f"o{organization_id}.{topic}"


def publish(topic: str, payload: dict, *, organization) -> None:
    """Send `payload` to subscribers of `topic` once the current transaction commits.

    A rolled-back write sends nothing; a channel-layer outage is logged, never raised, because a
    live push must not fail the operation that caused it (clients re-sync from the REST API).
    """
    organization_id = getattr(organization, "pk", organization)
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    message = {"type": "live.message", "topic": topic, "data": data}
    transaction.on_commit(lambda: _send(group_name(organization_id, topic), message))


def _send(group: str, message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:  # the layer is down: the operation already committed
        logger.warning("live publish to %s failed", group, exc_info=True)


def groups_for_subscription(user, topic: str) -> list[str]:
    """Channel-layer groups a user joins for `topic`; raises TopicRefused when not allowed."""
    from .tenancy import organizations_for

    if not user or not user.is_authenticated:
        raise TopicRefused("authentication required")
    if topic in ORGANIZATION_TOPICS:
        org_ids = list(organizations_for(user).values_list("pk", flat=True))
        if not org_ids:
            raise TopicRefused("not a member of any organization")
        return [group_name(org_id, topic) for org_id in org_ids]
    prefix, _, ident = topic.partition(".")
    resolver = _object_topics.get(prefix)
    if resolver is None or not ident:
        raise TopicRefused(f"unknown topic {topic!r}")
    organization_id = resolver(user, ident)
    if organization_id is None:
        raise TopicRefused(f"no access to {topic!r}")
    return [group_name(organization_id, topic)]
