"""The event log out on NATS JetStream, through a transactional outbox.

`record_event` writes an `EventOutbox` row in the event's own transaction (when NATS_URL is set);
`relay_outbox` claims pending rows (FOR UPDATE SKIP LOCKED, so relays on several hosts share the
work), publishes each to the stream as `<prefix>.<org slug>.<kind>` with the event id as
`Nats-Msg-Id`, and marks them published in the same transaction. A relay that dies between the
publish and the mark leaves the rows pending; the next relay publishes them again and JetStream's
duplicate window drops the copies (acknowledging them with the first copy's sequence), so every
event is in the stream exactly once as long as a relay runs again within NATS_DUPLICATE_WINDOW_S.

Consumers replay from a stream sequence or a time (`stream_events`, `tail_events` command).
"""

import asyncio
import datetime as dt
import hashlib
import json
import logging
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import nats
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from ..models import Event, EventOutbox
from ..representations import EventSerializer, represent

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "missionops_outbox"
_UNSAFE_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


class StreamUnavailable(Exception):
    """NATS did not answer or refused (the outbox keeps the events; a later relay sends them)."""


def stream_enabled() -> bool:
    """Whether events go out on NATS (NATS_URL is set)."""
    return bool(settings.NATS_URL)


def token(text: str) -> str:
    """One NATS subject token: anything but letters, digits, `_` and `-` becomes `_`."""
    return _UNSAFE_TOKEN.sub("_", text) or "_"


def subject_for(*, organization_slug: str, kind: str) -> str:
    """The NATS subject of an event: <prefix>.<organization>.<kind tokens>."""
    kind_tokens = ".".join(token(part) for part in kind.split("."))
    return f"{settings.NATS_SUBJECT_PREFIX}.{token(organization_slug)}.{kind_tokens}"


def enqueue_for(*, event: Event, **kwargs) -> None:
    """Receiver of events.event_recorded (connected in MissionOpsConfig.ready)."""
    enqueue(event)


def enqueue(event: Event) -> EventOutbox | None:
    """Queue `event` for the stream in the current transaction (the caller's atomic block) and wake
    listening relays when it commits (NOTIFY is delivered on commit, never on rollback)."""
    if not stream_enabled():
        return None
    row = EventOutbox.objects.create(
        event=event, subject=subject_for(organization_slug=event.organization.slug, kind=event.kind)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return row


async def _log_nats_error(error: Exception) -> None:
    logger.debug("NATS: %s", error)


class StreamClient:
    """One NATS connection on a private event loop, driven from synchronous code.

    The loop runs only inside `run`, so Django's ORM is used between calls as in any sync code.
    """

    def __init__(self, url: str | None = None, *, name: str = "missionops"):
        self.url, self.name = url or settings.NATS_URL, name
        self.loop = asyncio.new_event_loop()
        self.nc = self.js = None

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def connect(self, *, timeout_s: float = 2.0) -> "StreamClient":
        if self.nc is not None and self.nc.is_connected:
            return self
        # Once connected, reconnect forever (a NATS restart is survived); the first connect is bounded.
        connecting = nats.connect(
            self.url,
            name=self.name,
            connect_timeout=timeout_s,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=_log_nats_error,
        )
        try:
            self.nc = self.run(asyncio.wait_for(connecting, timeout=timeout_s))
        except Exception as error:  # nats raises several unrelated types for "not there"
            raise StreamUnavailable(f"NATS at {self.url}: {error}") from error
        self.js = self.nc.jetstream(timeout=5)
        self.run(self._ensure_stream())
        return self

    async def _ensure_stream(self) -> None:
        config = js_api.StreamConfig(
            name=settings.NATS_STREAM,
            subjects=[f"{settings.NATS_SUBJECT_PREFIX}.>"],
            storage=js_api.StorageType.FILE,
            duplicate_window=settings.NATS_DUPLICATE_WINDOW_S,
        )
        try:
            info = await self.js.stream_info(settings.NATS_STREAM)
        except NotFoundError:
            await self.js.add_stream(config)
            return
        if info.config.duplicate_window != config.duplicate_window or info.config.subjects != config.subjects:
            await self.js.update_stream(config)

    def close(self) -> None:
        if self.nc is not None:
            try:
                self.run(self.nc.drain())
            except Exception:  # closing a connection that already broke
                logger.debug("NATS drain failed", exc_info=True)
            self.nc = self.js = None
        # Consumers' background tasks end with the loop, not after it (no "loop is closed" noise).
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.run(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def publish_rows(self, rows: list[EventOutbox]) -> list:
        """Publish outbox rows concurrently; for each, its PubAck or the exception it raised."""

        async def publish_all():
            return await asyncio.gather(
                *(
                    self.js.publish(
                        row.subject,
                        json.dumps(represent(EventSerializer, row.event)).encode(),
                        headers={"Nats-Msg-Id": str(row.event_id)},
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )

        return self.run(publish_all())


def claim_pending(*, limit: int) -> list[EventOutbox]:
    """Lock up to `limit` unpublished rows, oldest first, skipping those another relay holds.
    Call inside a transaction; the lock lasts until it ends."""
    return list(
        EventOutbox.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(published_at__isnull=True)
        .select_related("event__organization")
        .order_by("id")[:limit]
    )


@dataclass
class RelayResult:
    published: int = 0
    duplicates: int = 0
    failed: int = 0


def relay_outbox(*, client: StreamClient, limit: int | None = None) -> RelayResult:
    """Publish one batch of pending outbox rows and mark those JetStream acknowledged.

    Rows whose publish failed stay pending with the error recorded; a re-publish of a row whose
    first publish was acknowledged but never marked (a crash) comes back as a duplicate and is
    marked with the first copy's sequence.
    """
    result = RelayResult()
    with transaction.atomic():
        rows = claim_pending(limit=limit or settings.NATS_RELAY_BATCH)
        if not rows:
            return result
        acks = client.publish_rows(rows)
        now = timezone.now()
        for row, ack in zip(rows, acks, strict=True):
            if isinstance(ack, BaseException):
                row.attempts += 1
                row.last_error = f"{type(ack).__name__}: {ack}"[:300]
                result.failed += 1
            else:
                row.published_at, row.stream_sequence = now, ack.seq
                row.attempts += 1
                result.published += 1
                result.duplicates += bool(ack.duplicate)
        EventOutbox.objects.bulk_update(rows, ["published_at", "stream_sequence", "attempts", "last_error"])
    if result.failed:
        logger.warning("event stream: %d of %d events not published (kept in the outbox)", result.failed, len(rows))
    return result


def relay_all(*, client: StreamClient) -> RelayResult:
    """Relay batches until the outbox is empty or a batch fails."""
    total = RelayResult()
    while True:
        batch = relay_outbox(client=client)
        total.published += batch.published
        total.duplicates += batch.duplicates
        total.failed += batch.failed
        if batch.failed or batch.published == 0:
            return total


def pending_count() -> int:
    """How many outbox rows wait to be published."""
    return EventOutbox.objects.filter(published_at__isnull=True).count()


def wait_for_outbox(timeout_s: float) -> bool:
    """Block until a committed event notifies the outbox channel (True), or `timeout_s` passes."""
    connection.ensure_connection()
    raw = connection.connection
    if not getattr(connection, "_outbox_listening", False):
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        connection._outbox_listening = True
    return any(True for _ in raw.notifies(timeout=timeout_s, stop_after=1))


@dataclass
class StreamedEvent:
    sequence: int
    subject: str
    published_at: dt.datetime
    event: dict


def stream_events(
    *,
    organization_slug: str,
    kind: str = "",
    start_sequence: int | None = None,
    start_time: dt.datetime | None = None,
    idle_timeout_s: float | None = None,
    client: StreamClient | None = None,
) -> Iterator[StreamedEvent]:
    """Events of one organization from the stream, in stream order: from `start_sequence`, from
    `start_time`, or only new ones; `kind` is exact or a prefix ending in `.`. Stops after
    `idle_timeout_s` without a message (None: never)."""
    if start_sequence is not None and start_time is not None:
        raise ValueError("give a start sequence or a start time, not both")
    subject = subject_for(organization_slug=organization_slug, kind=kind.rstrip(".")) if kind else None
    if subject is None:
        subject = f"{settings.NATS_SUBJECT_PREFIX}.{token(organization_slug)}.>"
    elif kind.endswith("."):
        subject += ".>"
    config = js_api.ConsumerConfig()
    if start_sequence is not None:
        policy, config.opt_start_seq = js_api.DeliverPolicy.BY_START_SEQUENCE, start_sequence
    elif start_time is not None:
        policy, config.opt_start_time = js_api.DeliverPolicy.BY_START_TIME, start_time
    else:
        policy = js_api.DeliverPolicy.NEW
    own_client = client is None
    client = (client or StreamClient(name="missionops-tail")).connect()
    try:
        subscription = client.run(
            client.js.subscribe(
                subject, stream=settings.NATS_STREAM, ordered_consumer=True, deliver_policy=policy, config=config
            )
        )
        while True:
            try:
                msg = client.run(subscription.next_msg(timeout=idle_timeout_s or 3600))
            except nats.errors.TimeoutError:
                if idle_timeout_s is not None:
                    return
                continue
            meta = msg.metadata
            yield StreamedEvent(
                sequence=meta.sequence.stream,
                subject=msg.subject,
                published_at=meta.timestamp,
                event=json.loads(msg.data),
            )
    finally:
        if own_client:
            client.close()


# ---- telemetry mirror (NATS_TELEMETRY_MIRROR): a stream per spacecraft ----
#
# The archive is the record; the mirror is a copy for downstream consumers, sent after commit by
# one background thread per process, so ingest never waits on NATS. Each batch carries a
# Nats-Msg-Id made of its content: a re-sent batch (ingest is idempotent) is not mirrored twice.


def telemetry_stream_name(spacecraft_id) -> str:
    """The JetStream stream holding one spacecraft's telemetry."""
    return f"TELEMETRY_{str(spacecraft_id).replace('-', '')}"


def telemetry_subject(*, organization_slug: str, spacecraft_id) -> str:
    """The NATS subject of one spacecraft's telemetry batches."""
    return f"{settings.NATS_SUBJECT_PREFIX}_telemetry.{token(organization_slug)}.{str(spacecraft_id).replace('-', '')}"


class TelemetryMirror(threading.Thread):
    MAX_QUEUED = 10_000

    def __init__(self):
        super().__init__(daemon=True, name="telemetry-mirror")
        self.queue: queue.Queue = queue.Queue(maxsize=self.MAX_QUEUED)
        self.client: StreamClient | None = None
        self.streams: set[str] = set()
        self.dropped = 0

    def offer(self, batches: list[dict]) -> None:
        for batch in batches:
            try:
                self.queue.put_nowait(batch)
            except queue.Full:
                self.dropped += 1
                logger.warning("telemetry mirror: queue full, a batch is not mirrored (the archive has it)")

    def run(self) -> None:
        while True:
            batch = self.queue.get()
            try:
                self.publish(batch)
            except Exception:  # NATS away: the archive has the samples; the mirror goes on with the next
                logger.warning("telemetry mirror: batch not mirrored", exc_info=True)
                if self.client is not None:
                    self.client.close()
                    self.client, self.streams = None, set()
            finally:
                self.queue.task_done()

    def publish(self, batch: dict) -> None:
        if self.client is None:
            self.client = StreamClient(name="missionops-telemetry-mirror").connect()
        name = telemetry_stream_name(batch["spacecraft"])
        subject = telemetry_subject(organization_slug=batch["organization"], spacecraft_id=batch["spacecraft"])
        if name not in self.streams:
            self.client.run(self._ensure(name, subject))
            self.streams.add(name)
        data = json.dumps(batch, cls=DjangoJSONEncoder).encode()
        msg_id = hashlib.sha256(data).hexdigest()
        self.client.run(self.client.js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}))

    async def _ensure(self, name: str, subject: str) -> None:
        try:
            await self.client.js.stream_info(name)
        except NotFoundError:
            await self.client.js.add_stream(
                js_api.StreamConfig(
                    name=name,
                    subjects=[subject],
                    storage=js_api.StorageType.FILE,
                    duplicate_window=settings.NATS_DUPLICATE_WINDOW_S,
                )
            )


_mirror: TelemetryMirror | None = None
_mirror_lock = threading.Lock()


def mirror_telemetry(*, batches: list[dict]) -> None:
    """Queue committed telemetry for the per-spacecraft streams (no-op unless NATS_TELEMETRY_MIRROR)."""
    global _mirror
    if not (settings.NATS_TELEMETRY_MIRROR and stream_enabled() and batches):
        return
    with _mirror_lock:
        if _mirror is None or not _mirror.is_alive():
            _mirror = TelemetryMirror()
            _mirror.start()
    _mirror.offer(batches)


def flush_telemetry_mirror() -> None:
    """Wait until everything queued has been sent (or failed)."""
    if _mirror is not None:
        _mirror.queue.join()
