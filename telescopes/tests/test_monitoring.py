import json
import threading

import paho.mqtt.client as mqtt
import pytest

from missionops.models import Event
from telescopes.models import HealthStatus, Operation
from telescopes.services.monitoring import check_all_devices, mqtt_topic
from telescopes.services.operations import request_operation, run_operation

pytestmark = pytest.mark.django_db


def test_checks_levels_and_simulator_stop_turns_unhealthy_in_one_check(devices, simulator):
    telescope = devices["telescope"]
    counts = check_all_devices()
    assert sum(counts.values()) == 10
    telescope.refresh_from_db()
    assert telescope.health_status == HealthStatus.DEGRADED  # reachable, not connected yet
    assert telescope.status["atpark"] is True and "rightascension" in telescope.status

    run_operation(operation=request_operation(device=telescope, kind="connect", enqueue=False))
    telescope.refresh_from_db()
    assert telescope.health_status == HealthStatus.HEALTHY

    simulator.stop()
    check_all_devices()  # one check interval
    telescope.refresh_from_db()
    assert telescope.health_status == HealthStatus.UNHEALTHY
    assert "unreachable" in telescope.health_detail
    event = Event.objects.filter(kind="telescope.health", subject_id=str(telescope.pk)).latest("created_at")
    assert event.payload["to"] == "Unhealthy" and event.payload["from"] == "Healthy"

    # A slew now fails with a clear error, and no operation is left open.
    slew = run_operation(
        operation=request_operation(
            device=telescope, kind="slew_altaz", params={"altitude_deg": 45, "azimuth_deg": 90}, enqueue=False
        )
    )
    assert slew.status == "failed" and "unreachable" in slew.error
    assert not Operation.objects.filter(status__in=["pending", "running"]).exists()
    check_all_devices()
    assert Event.objects.filter(kind="telescope.health", subject_id=str(telescope.pk)).count() == 3  # no repeat


def test_status_published_retained_on_mqtt(devices):
    telescope = devices["telescope"]
    check_all_devices()
    received = {}
    got = threading.Event()

    def on_message(client, userdata, message):
        received["retain"] = message.retain
        received["payload"] = json.loads(message.payload)
        got.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", 1883)
    client.subscribe(mqtt_topic(telescope), qos=1)
    client.loop_start()
    try:
        assert got.wait(5), "no retained status on the broker"
    finally:
        client.loop_stop()
        client.disconnect()
    assert received["retain"] is True
    assert received["payload"]["id"] == telescope.pk
    assert received["payload"]["health"] in ("Healthy", "Degraded")


def test_a_reading_of_nan_or_infinity_is_stored_as_no_reading(observatory):
    from telescopes.models import AlpacaDevice
    from telescopes.services.monitoring import apply_status

    camera = AlpacaDevice.objects.create(observatory=observatory, device_type="camera", host="127.0.0.1", port=1)
    apply_status(
        device=camera,
        level="healthy",
        detail="connected",
        status={"connected": True, "ccdtemperature": float("nan"), "x": float("inf")},
    )
    camera.refresh_from_db()
    assert camera.status == {"connected": True, "ccdtemperature": None, "x": None}
