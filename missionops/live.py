"""Live messages: the ONE way sync code reaches browser sockets.

A topic is what a client asks for (`fleet`, `sc.<id>`, `alarms`, ...). Every group on the channel
layer is prefixed with the organization id, so an organization-wide topic such as `fleet` can
never carry another organization's data: isolation holds by construction, not by filtering.
"""

import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
import threading
from collections.abc import Callable

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
    publish_many((topic,), payload, organization=organization)


def publish_many(topics, payload: dict, *, organization) -> None:
    """`publish` of one payload to several topics: encoded once, one commit hook, one hand-off to
    the sender loop (a job's state goes to `jobs` and `job.<id>` on every change)."""
    organization_id = getattr(organization, "pk", organization)
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    sends = [(group_name(organization_id, t), {"type": "live.message", "topic": t, "data": data}) for t in topics]
    transaction.on_commit(lambda: _send(sends))


# Sends run on one background event loop per process: the caller never waits for Redis
# (async_to_sync per message cost ~3.6 ms, several per operation). Order is kept: one loop, FIFO.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()
_in_flight: set[concurrent.futures.Future] = set()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child (Celery prefork) starts its own
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="live-publisher", daemon=True).start()
        return _loop


async def _group_send_all(layer, sends) -> None:
    for group, message in sends:
        await layer.group_send(group, message)


def _send(sends: list[tuple[str, dict]]) -> None:
    try:
        future = asyncio.run_coroutine_threadsafe(_group_send_all(get_channel_layer(), sends), _publisher_loop())
    except Exception:  # the layer is misconfigured or the loop is gone: the operation already committed
        logger.warning("live publish to %s failed", ", ".join(g for g, _ in sends), exc_info=True)
        return
    _in_flight.add(future)
    future.add_done_callback(_sent)


def _sent(future: concurrent.futures.Future) -> None:
    _in_flight.discard(future)
    if not future.cancelled() and future.exception() is not None:  # the layer is down: log, never raise
        logger.warning("live publish failed: %s", future.exception())


@atexit.register
def flush(timeout_s: float = 3.0) -> None:
    """Wait for messages still on their way (short-lived commands publish, then exit)."""
    concurrent.futures.wait(list(_in_flight), timeout=timeout_s)


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
