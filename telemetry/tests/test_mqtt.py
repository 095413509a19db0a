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
