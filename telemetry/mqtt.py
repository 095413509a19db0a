"""MQTT bridge: `missionops/<organization slug>/<designation>/telemetry` -> telemetry.services.ingest.

QoS 1 with manual acknowledgement: a message is PUBACKed only after the batch holding it has
committed, so whatever the broker considers delivered is stored. A persistent session (fixed client
id, clean_session False) lets the broker keep unacknowledged messages across a bridge restart;
after a broker restart paho reconnects and the bridge subscribes again. Re-deliveries are harmless:
ingest is idempotent. A batch that fails is retried message by message, so one bad message (invalid,
or failing in a way nobody foresaw) is logged and acknowledged (dropped) without holding back the
good ones. When the database is away the messages are kept, unacked, and retried after a pause.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from missionops.exceptions import DomainError
from missionops.models import Organization

from . import payloads, services
from .models import Interface

logger = logging.getLogger(__name__)

TOPIC = "missionops/+/+/telemetry"
# The database is away or aborted the transaction (a deadlock): the message is not at fault.
DATABASE_TROUBLE = (OperationalError, InterfaceError)


@dataclass
class Received:
    generation: int
    mid: int
    qos: int
    organization: str
    designation: str
    payload: bytes


class Bridge:
    def __init__(self, *, host="127.0.0.1", port=1883, client_id="missionops-ingest", batch_size=500, linger_s=0.2):
        self.host, self.port, self.batch_size, self.linger_s = host, port, batch_size, linger_s
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.generation = 0  # bumps on every (re)connect: an ack for an older connection is void
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.stats = {"messages": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        self.pause_s = 0.0  # set when messages wait for the database to come back
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.warning("MQTT connect refused: %s", reason_code)
            return
        self.generation += 1
        client.subscribe(TOPIC, qos=1)
        self.connected.set()
        logger.info("MQTT bridge connected to %s:%s, subscribed to %s", self.host, self.port, TOPIC)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if not self.stopping.is_set():
            logger.warning("MQTT broker connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        parts = message.topic.split("/")
        if len(parts) != 4:
            client.ack(message.mid, message.qos)
            return
        self.inbox.put(Received(self.generation, message.mid, message.qos, parts[1], parts[2], message.payload))

    def start(self) -> None:
        from missionops.health import start_heartbeat_thread

        self.client.connect_async(self.host, self.port, keepalive=15)
        self.client.loop_start()
        self._heartbeat = start_heartbeat_thread("mqtt_bridge", kind="mqtt_bridge", interval_s=10, detail="MQTT bridge")

    def stop(self) -> None:
        if getattr(self, "_heartbeat", None) is not None:
            self._heartbeat.set()
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    def run_forever(self, *, until=None) -> None:
        self.start()
        try:
            while not self.stopping.is_set() and (until is None or not until()):
                self.process_once()
        finally:
            self.stop()

    def process_once(self) -> int:
        """Take one batch from the inbox (waiting up to linger_s), ingest and ack it."""
        try:
            first = self.inbox.get(timeout=self.linger_s)
        except queue.Empty:
            return 0
        batch, deadline = [first], time.monotonic() + self.linger_s
        while len(batch) < self.batch_size:
            try:
                batch.append(self.inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        if not connection.in_atomic_block:  # a long-lived loop: drop a connection the server closed
            close_old_connections()
        by_org: dict[str, list[Received]] = {}
        for received in batch:
            by_org.setdefault(received.organization, []).append(received)
        for slug, messages in by_org.items():
            self._ingest_organization(slug, messages)
        if self.pause_s:  # the database is away: do not spin on it
            time.sleep(self.pause_s)
            self.pause_s = 0.0
        return len(batch)

    def _ingest_organization(self, slug: str, messages: list[Received]) -> None:
        try:
            organization = Organization.objects.filter(slug=slug).first()
        except DATABASE_TROUBLE:
            self._retry_later(messages)
            return
        if organization is None:
            logger.warning("MQTT: unknown organization %r, dropping %d messages", slug, len(messages))
            self._ack(messages)
            self.stats["rejected"] += len(messages)
            return
        scope = services.organization_scope(organization)
        try:
            self._ingest(scope, messages)
        except DATABASE_TROUBLE:
            self._retry_later(messages)
        except Exception:  # any message may be at fault, even in a way nobody foresaw
            for message in messages:  # find the bad ones; the good ones still go in
                self._ingest_alone(scope, slug, message)

    def _ingest_alone(self, scope, slug: str, message: Received) -> None:
        """Ingest one message; a message that fails is logged, counted as rejected and acked: left
        unacked it would come back after every restart and fail again."""
        try:
            self._ingest(scope, [message])
        except DATABASE_TROUBLE:
            self._retry_later([message])
            return
        except DomainError as error:
            logger.warning("MQTT: rejected message on %s/%s: %s", slug, message.designation, error.message)
        except Exception:
            logger.exception("MQTT: rejected message on %s/%s: it failed unexpectedly", slug, message.designation)
        else:
            return
        self.stats["rejected"] += 1
        self._ack([message])

    def _ingest(self, scope, messages: list[Received]) -> None:
        snapshots = []
        for message in messages:
            for snapshot in _snapshots(message):
                snapshots.append(snapshot)
        result = services.ingest(snapshots=snapshots, scope=scope, interface=Interface.MQTT)
        self.stats["messages"] += len(messages)
        self.stats["stored"] += result.stored
        self.stats["duplicates"] += result.duplicates
        self._ack(messages)

    def _retry_later(self, messages: list[Received]) -> None:
        """Not the messages' fault: keep them, unacked, for the next round (after a pause)."""
        logger.warning("MQTT: database trouble, %d messages kept for a retry", len(messages), exc_info=True)
        for message in messages:
            self.inbox.put(message)
        self.pause_s = 1.0

    def _ack(self, messages: list[Received]) -> None:
        for message in messages:
            if message.qos and message.generation == self.generation:
                self.client.ack(message.mid, message.qos)


def _snapshots(message: Received) -> list:
    text = message.payload
    ndjson = b"\n" in text.strip()
    snapshots = payloads.decode(text, ndjson=ndjson)
    for snapshot in snapshots:
        if isinstance(snapshot, dict):
            given = snapshot.setdefault("spacecraft", message.designation)
            if given != message.designation:
                # The topic names the spacecraft; a payload naming another one is refused.
                raise DomainError(
                    f"payload names {given!r} on the topic of {message.designation!r}", field="spacecraft"
                )
    return snapshots
