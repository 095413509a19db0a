"""The MQTT bridge end to end on a real Mosquitto (our own, on a free port), including a broker
restart and a bridge restart, with the bridge as a real `manage.py ingest_mqtt` process."""

import datetime as dt
import json
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest

from missionops import testing
from missionops.testing import ROOT, free_port, wait_for_port

from .conftest import iso
from .test_ingest import count_samples

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Broker:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.conf = tmp_path / "mosquitto.conf"
        (tmp_path / "data").mkdir()
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {tmp_path / 'data'}/\nautosave_interval 1\n"
        )
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_bridge(port):
    return subprocess.Popen(
        [sys.executable, "manage.py", "ingest_mqtt", "--port", str(port), "--client-id", f"test-bridge-{port}"],
        cwd=ROOT,
        env=testing.test_database_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_bridge(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_for(predicate, timeout_s=30.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def publisher(port):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{port}", clean_session=False)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect(host="127.0.0.1", port=port)
    client.loop_start()
    return client


def publish(client, org, sc, start, first, count):
    infos = []
    for i in range(first, first + count):
        payload = {"timestamp": iso(start + dt.timedelta(seconds=i)), "parameters": {"battery_soc": 50.0 + i % 10}}
        infos.append(client.publish(f"missionops/{org.slug}/{sc.designation}/telemetry", json.dumps(payload), qos=1))
    for info in infos:
        info.wait_for_publish(timeout=30)
        assert info.is_published()


def wait_until_bridge_listens(client, org, sc, start):
    """Re-send sample 0 until it is stored: before the bridge subscribes, the broker drops it."""

    def stored():
        publish(client, org, sc, start, 0, 1)
        time.sleep(0.3)
        return count_samples(sc) == 1

    wait_for(stored, what="the bridge to subscribe and store")


def test_bridge_end_to_end_with_broker_and_bridge_restarts(tmp_path, org_a, sc_a, now_minute):
    broker = Broker(tmp_path)
    broker.start()
    bridge = start_bridge(broker.port)
    client = publisher(broker.port)
    try:
        wait_until_bridge_listens(client, org_a, sc_a, now_minute)
        publish(client, org_a, sc_a, now_minute, 1, 49)
        wait_for(lambda: count_samples(sc_a) == 50, what="50 samples")

        broker.stop()
        time.sleep(1.0)
        broker.start()
        wait_for(client.is_connected, what="the publisher to reconnect")
        publish(client, org_a, sc_a, now_minute, 50, 50)
        wait_for(lambda: count_samples(sc_a) == 100, what="100 samples after the broker restart")

        # Bridge down: the broker keeps its session and hands over what arrived meanwhile.
        stop_bridge(bridge)
        publish(client, org_a, sc_a, now_minute, 100, 30)
        publish(client, org_a, sc_a, now_minute, 0, 10)  # a re-send: stored once
        bridge = start_bridge(broker.port)
        wait_for(lambda: count_samples(sc_a) == 130, what="messages queued while the bridge was down")
        time.sleep(1.0)
        assert count_samples(sc_a) == 130
    finally:
        client.loop_stop()
        client.disconnect()
        stop_bridge(bridge)
        broker.stop()


def test_bad_message_is_dropped_without_blocking_good_ones(tmp_path, org_a, sc_a, now_minute):
    broker = Broker(tmp_path)
    broker.start()
    bridge = start_bridge(broker.port)
    client = publisher(broker.port)
    try:
        wait_until_bridge_listens(client, org_a, sc_a, now_minute)
        topic = f"missionops/{org_a.slug}/{sc_a.designation}/telemetry"
        client.publish(topic, b'{"timestamp": "2026-01-01T00:00:00", "parameters": {"battery_soc": 1}}', qos=1)
        client.publish(f"missionops/{org_a.slug}/SC-404/telemetry", b"{}", qos=1)
        publish(client, org_a, sc_a, now_minute, 1, 5)
        wait_for(lambda: count_samples(sc_a) == 6, what="the good messages")
    finally:
        client.loop_stop()
        client.disconnect()
        stop_bridge(bridge)
        broker.stop()


class InProcessBridge:
    """The bridge in this process (its batches are run by the test) on a real broker, with a
    publisher; `reconnect()` starts a new bridge on the same persistent session."""

    def __init__(self, tmp_path, org, sc):
        from telemetry.mqtt import Bridge

        self.broker = Broker(tmp_path)
        self.broker.start()
        self.client = publisher(self.broker.port)
        self.topic = f"missionops/{org.slug}/{sc.designation}/telemetry"
        self.make = lambda: Bridge(port=self.broker.port, client_id=f"test-inproc-{self.broker.port}", linger_s=0.5)
        self.bridge = None
        self.reconnect()

    def reconnect(self):
        if self.bridge is not None:
            self.bridge.stop()
        self.bridge = self.make()
        self.bridge.client.connect_async(self.bridge.host, self.bridge.port, keepalive=15)
        self.bridge.client.loop_start()
        assert self.bridge.connected.wait(10)
        return self.bridge

    def publish(self, payload: str):
        self.client.publish(self.topic, payload, qos=1).wait_for_publish(10)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
        self.bridge.stop()
        self.broker.stop()


@pytest.fixture
def in_process_bridge(tmp_path, org_a, sc_a, now_minute):
    harness = InProcessBridge(tmp_path, org_a, sc_a)
    first = json.dumps({"timestamp": iso(now_minute), "parameters": {"bus_v": 1.0}})

    def subscribed():  # until the subscription is in place the broker drops what is published
        harness.publish(first)
        return harness.bridge.inbox.qsize() > 0

    try:
        wait_for(subscribed, timeout_s=10, what="the bridge to subscribe")
        harness.bridge.process_once()
        yield harness
    finally:
        harness.close()


@pytest.fixture
def failing_when_marked(monkeypatch):
    """Ingest raises `error` (`times_left` times) for batches holding a snapshot marked {"fail": true}:
    a failure nobody foresaw, or, with OperationalError, the database going away."""
    from telemetry import services

    ingest, failure = services.ingest, {"error": RuntimeError("unforeseen"), "times_left": 1000}

    def ingest_or_fail(*, snapshots, **kwargs):
        if any(isinstance(s, dict) and s.get("fail") for s in snapshots) and failure["times_left"]:
            failure["times_left"] -= 1
            raise failure["error"]
        return ingest(snapshots=snapshots, **kwargs)

    monkeypatch.setattr(services, "ingest", ingest_or_fail)
    return failure


def test_messages_failing_in_any_way_are_rejected_and_acked_while_the_rest_are_stored(
    in_process_bridge, failing_when_marked, sc_a, now_minute
):
    """One batch holds an invalid message (an integer no double holds), one whose ingest fails in
    a way nobody foresaw, and a good one: the bridge keeps going, stores the good one, and acks all
    three, so a new session on the broker gets nothing redelivered."""
    harness = in_process_bridge
    bad = json.dumps({"timestamp": iso(now_minute), "parameters": {"battery_soc": "<n>"}})
    for payload in (
        bad.replace('"<n>"', "1" + "0" * 400),
        json.dumps({"timestamp": iso(now_minute), "parameters": {"battery_soc": 1.0}, "fail": True}),
        json.dumps({"timestamp": iso(now_minute + dt.timedelta(seconds=1)), "parameters": {"bus_v": 1.0}}),
    ):
        harness.publish(payload)
    wait_for(lambda: harness.bridge.inbox.qsize() == 3, timeout_s=10, what="three messages")
    assert harness.bridge.process_once() == 3  # one batch; raises nothing
    assert (harness.bridge.stats["rejected"], harness.bridge.stats["stored"]) == (2, 2)
    assert count_samples(sc_a) == 2
    bridge = harness.reconnect()  # the same persistent session: only unacked messages come back
    time.sleep(1.5)
    assert bridge.inbox.qsize() == 0


def test_messages_are_kept_and_retried_while_the_database_is_away(
    in_process_bridge, failing_when_marked, sc_a, now_minute
):
    from django.db import OperationalError

    failing_when_marked.update(error=OperationalError("server closed the connection unexpectedly"), times_left=1)
    harness = in_process_bridge
    harness.publish(
        json.dumps({"timestamp": iso(now_minute + dt.timedelta(seconds=1)), "parameters": {"bus_v": 2.0}, "fail": True})
    )
    wait_for(lambda: harness.bridge.inbox.qsize() == 1, timeout_s=10, what="the message")
    harness.bridge.process_once()  # the database fails this batch
    assert (count_samples(sc_a), harness.bridge.stats["rejected"], harness.bridge.inbox.qsize()) == (1, 0, 1)
    harness.bridge.process_once()  # and is back
    assert (count_samples(sc_a), harness.bridge.inbox.qsize()) == (2, 0)
    bridge = harness.reconnect()
    time.sleep(1.5)
    assert bridge.inbox.qsize() == 0  # acked once stored
