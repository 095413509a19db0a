"""Live messages: the ONE way sync code reaches browser sockets.

A topic is what a client asks for (`fleet`, `sc.<id>`, `alarms`, ...). Every group on the channel
layer is prefixed with the organization id, so an organization-wide topic such as `fleet` can
never carry another organization's data: isolation holds by construction, not by filtering.
"""

import atexit
import collections
import json
import logging
import os
import threading
import time
from collections.abc import Callable

import redis
import redis.sentinel
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .representations import represent

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


def access_group(user_id) -> str:
    """Every live socket of a user is in this group, to hear that the user's access changed."""
    return f"u{user_id}.access"


def access_changed(user_id) -> None:
    """Once the current transaction commits, the user's open sockets check their topics again (and
    close when the user is gone or inactive): access is otherwise checked only at subscription."""
    sends = [(access_group(user_id), {"type": "access.changed"})]
    transaction.on_commit(lambda: _send(sends))


def live_message(kind: str, serializer_class, instance, **kwargs) -> dict:
    """A live message: `{"kind": kind, "data": ...}`, `data` being the object's representation by
    the REST API's own serializer (`many=True` for a list), so a page reads the same field names
    from the socket as from a REST answer."""
    return {"kind": kind, "data": represent(serializer_class, instance, **kwargs)}


def publish(topic: str, payload: dict, *, organization) -> None:
    """Send `payload` to subscribers of `topic` once the current transaction commits.

    A rolled-back write sends nothing; a channel-layer outage is logged, never raised, because a
    live push must not fail the operation that caused it (clients re-sync from the REST API).
    """
    publish_many((topic,), payload, organization=organization)


def publish_many(topics, payload: dict, *, organization) -> None:
    """`publish` of one payload to several topics: encoded once, one commit hook, one hand-off to
    the sender loop (a job's state goes to `jobs` and `job.<id>` on every change)."""
    sends = _sends(topics, payload, organization)
    transaction.on_commit(lambda: _send(sends))


def publish_now(topic: str, payload: dict, *, organization) -> None:
    """`publish` without waiting for a commit, for callers that run after theirs (an on_commit
    hook) or outside any transaction (a timer thread, which must not open a database connection
    only to ask whether it is in one). Never raises, as publish."""
    _send(_sends((topic,), payload, organization))


def _sends(topics, payload: dict, organization) -> list[tuple[str, dict]]:
    organization_id = getattr(organization, "pk", organization)
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return [(group_name(organization_id, t), {"type": "live.message", "topic": t, "data": data}) for t in topics]


# Sends run on one sender thread per process, so the caller never waits for Redis. The thread
# publishes what is queued as one pipeline per Redis shard, with a plain Redis client, at most one
# pipeline per BATCH_S: a lone message goes at once, a burst waits up to 20 ms and goes in one
# round trip. The pub/sub layer's group_send is one PUBLISH, but through asyncio it cost ~0.3 ms of
# CPU a message, and a job worker sends four per no-op job: they were two thirds of its CPU.
# Order is kept: one FIFO queue, one pipeline at a time.
BATCH_S = 0.02
_sender: "_Sender | None" = None
_sender_lock = threading.Lock()


class _Sender:
    def __init__(self):
        self.pid = os.getpid()
        self.queue: collections.deque = collections.deque()
        self.ready = threading.Condition()
        self.idle = threading.Event()  # nothing queued, nothing on its way
        self.idle.set()
        self.shards: list | None = None  # one Redis client per channel-layer host, and their prefix
        self.prefix = ""
        self.thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
        self.thread.start()

    def put(self, sends: list[tuple[str, dict]]) -> None:
        with self.ready:
            self.queue.extend(sends)
            self.idle.clear()
            self.ready.notify()

    def _run(self) -> None:
        sent_at = 0.0
        while True:
            with self.ready:
                while not self.queue:
                    self.idle.set()
                    self.ready.wait()
            wait = sent_at + BATCH_S - time.monotonic()
            if wait > 0:  # the last pipeline was just now: let the burst gather
                time.sleep(wait)
            sent_at = time.monotonic()
            with self.ready:
                batch = list(self.queue)
                self.queue.clear()
            try:
                self._publish(batch)
            except Exception as error:  # misconfigured layer: log, never raise (clients re-sync from REST)
                logger.warning("live publish of %d message(s) failed: %s", len(batch), error)

    def _publish(self, batch: list[tuple[str, dict]]) -> None:
        layer = get_channel_layer()
        if not isinstance(layer, RedisPubSubChannelLayer):  # another layer: its own group_send
            for group, message in batch:
                try:
                    async_to_sync(layer.group_send)(group, message)
                except Exception as error:
                    logger.warning("live publish to %s failed: %s", group, error)
            return
        # What RedisPubSubLoopLayer.group_send does (PUBLISH of the serialized message on the
        # group's channel, on that channel's shard), pipelined. The channel naming is channels_redis
        # 4.3's (pinned): the socket tests in test_live.py receive through it, so a change shows.
        if self.shards is None:
            config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
            self.shards = [_redis_client(host) for host in decode_hosts(config.get("hosts"))]
            self.prefix = config.get("prefix", "asgi")
        by_shard = collections.defaultdict(list)
        for group, message in batch:
            channel = f"{self.prefix}__group__{group}"
            by_shard[_consistent_hash(channel, len(self.shards))].append((channel, layer.serialize(message)))
        for index, messages in by_shard.items():
            pipe = self.shards[index].pipeline(transaction=False)
            for channel, data in messages:
                pipe.publish(channel, data)
            try:  # one shard down loses its own messages only
                pipe.execute()
            except redis.RedisError as error:
                logger.warning("live publish of %d message(s) to shard %d failed: %s", len(messages), index, error)

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive()


def _redis_client(host: dict) -> redis.Redis:
    """A synchronous client for one channel-layer host, built as channels_redis.utils.create_pool
    builds its asyncio pool (URL address, Sentinel, or connection keywords), with 2 s timeouts
    unless the host sets its own."""
    options = dict(host)
    options.setdefault("socket_timeout", 2)
    options.setdefault("socket_connect_timeout", 2)
    if "address" in options:
        return redis.Redis(connection_pool=redis.ConnectionPool.from_url(options.pop("address"), **options))
    master_name = options.pop("master_name", None)
    if master_name is not None:
        sentinels = options.pop("sentinels")
        sentinel = redis.sentinel.Sentinel(sentinels, sentinel_kwargs=options.pop("sentinel_kwargs", None))
        return redis.Redis(connection_pool=redis.sentinel.SentinelConnectionPool(master_name, sentinel, **options))
    return redis.Redis(connection_pool=redis.ConnectionPool(**options))


def _send(sends: list[tuple[str, dict]]) -> None:
    """Runs in the committing caller's on_commit: whatever goes wrong is logged, never raised."""
    global _sender
    try:
        with _sender_lock:
            if _sender is None or not _sender.alive():  # a forked child (Celery prefork) starts its own
                _sender = _Sender()
            sender = _sender
        sender.put(sends)
    except Exception as error:  # e.g. no new thread at interpreter shutdown
        logger.warning("live publish to %s failed: %s", ", ".join(g for g, _ in sends), error)


@atexit.register
def flush(timeout_s: float = 3.0) -> None:
    """Wait for messages still on their way: short-lived commands publish, then exit (atexit), and
    Celery's prefork children end with os._exit (missionops.celery flushes on their shutdown)."""
    if _sender is not None and _sender.alive():
        _sender.idle.wait(timeout=timeout_s)


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
