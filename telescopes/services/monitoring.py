"""Device health: every registered device is read periodically (reachable? Connected? its key
status properties) and given a level. A change of level is an event, a live message on `health`
and `telescopes`, and a retained MQTT status for other observatory software."""

import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from missionops import live
from missionops.services import record_event

from .. import client
from ..models import AlpacaDevice, DeviceType, HealthStatus
from ..representations import DeviceSerializer

logger = logging.getLogger(__name__)

CHECK_THREADS = 8  # devices are checked in parallel: each is mostly waiting on the network

# Key properties read per type (all optional in practice: a missing one is left out).
STATUS_PROPERTIES = {
    DeviceType.TELESCOPE: ["AtPark", "Slewing", "Tracking", "RightAscension", "Declination", "Altitude", "Azimuth"],
    DeviceType.CAMERA: ["CameraState", "CCDTemperature", "ImageReady"],
    DeviceType.DOME: ["ShutterStatus", "Azimuth", "AtPark", "Slewing"],
    DeviceType.FOCUSER: ["Position", "IsMoving", "Temperature"],
    DeviceType.FILTERWHEEL: ["Position"],
    DeviceType.ROTATOR: ["Position", "IsMoving"],
    DeviceType.SWITCH: ["MaxSwitch"],
    DeviceType.SAFETYMONITOR: ["IsSafe"],
    DeviceType.OBSERVINGCONDITIONS: ["CloudCover", "Humidity", "WindSpeed", "Temperature"],
    DeviceType.COVERCALIBRATOR: ["CoverState", "CalibratorState"],
}


def read_status(device: AlpacaDevice) -> tuple[str, str, dict]:
    """(level, detail, status) of one device, from the device itself."""
    alpaca = client.client_for(device)
    try:
        connected = bool(alpaca.Connected)
    except Exception as error:
        explained = client.explain(error, device)
        return HealthStatus.UNHEALTHY, explained.message, {}
    status: dict = {"connected": connected}
    for name in STATUS_PROPERTIES.get(device.device_type, []):
        try:
            value = getattr(alpaca, name)
        except Exception as error:
            explained = client.explain(error, device)
            if explained.offline:
                return HealthStatus.UNHEALTHY, explained.message, status
            continue  # not implemented or not readable now: not a health problem by itself
        status[name.lower()] = (
            round(value, 6) if isinstance(value, float) else int(value) if hasattr(value, "value") else value
        )
    if not connected:
        return HealthStatus.DEGRADED, "reachable, not connected", status
    if status.get("camerastate") == 5:
        return HealthStatus.DEGRADED, "camera in error state", status
    if status.get("shutterstatus") == 4:
        return HealthStatus.DEGRADED, "dome shutter error", status
    if status.get("issafe") is False:
        return HealthStatus.DEGRADED, "safety monitor reports unsafe", status
    return HealthStatus.HEALTHY, "connected", status


def apply_status(*, device: AlpacaDevice, level: str, detail: str, status: dict) -> bool:
    """Store a check's result; on a change of level record it. Returns whether the level changed."""
    now = timezone.now()
    previous = device.health_status
    # A device's NaN or Infinity is "no reading": JSON, and so jsonb, has no such number.
    status = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in status.items()}
    device.health_status, device.health_detail, device.last_checked_at = level, detail[:300], now
    if status:
        device.status = {**device.status, **status} if level == HealthStatus.UNHEALTHY else status
    if level != HealthStatus.UNHEALTHY:
        device.last_seen_at = now
    changed = previous != level
    organization = device.observatory.organization
    with transaction.atomic():
        device.save(update_fields=["health_status", "health_detail", "last_checked_at", "status", "last_seen_at"])
        message = live.live_message("device", DeviceSerializer, device)
        live.publish("telescopes", message, organization=organization)
        if changed:
            record_event(
                organization=organization,
                kind="telescope.health",
                subject=device,
                payload={"from": previous, "to": level, "detail": detail},
            )
            live.publish("health", message, organization=organization)  # the device as on `telescopes`
    publish_mqtt(device)
    return changed


def check_device(*, device: AlpacaDevice) -> AlpacaDevice:
    """Read one device's status now and store it."""
    level, detail, status = read_status(device)
    apply_status(device=device, level=level, detail=detail, status=status)
    return device


def refresh_device_status(*, device: AlpacaDevice) -> None:
    """After an operation: the page should show the new pointing now, not at the next check."""
    device = AlpacaDevice.objects.select_related("observatory__organization").filter(pk=device.pk).first()
    if device is not None:
        check_device(device=device)


def check_all_devices(*, observatory_ids=None) -> dict:
    """Check every device (of the given observatories); returns {level: count}."""
    devices = list(AlpacaDevice.objects.select_related("observatory__organization").order_by("pk"))
    if observatory_ids is not None:
        devices = [d for d in devices if d.observatory_id in set(observatory_ids)]

    def read(device):
        try:
            return read_status(device)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        results = list(pool.map(read, devices))
    counts: dict = {}
    for device, (level, detail, status) in zip(devices, results, strict=True):
        apply_status(device=device, level=level, detail=detail, status=status)
        counts[level] = counts.get(level, 0) + 1
    return counts


def mqtt_topic(device: AlpacaDevice) -> str:
    """The retained MQTT topic of a device's status."""
    return f"missionops/telescopes/{device.pk}/status"


def publish_mqtt(device: AlpacaDevice) -> None:
    """Retained status on the local broker; a broker outage is logged, never raised (the check
    itself succeeded)."""
    from paho.mqtt import client as mqtt

    payload = {
        "id": device.pk,
        "observatory": device.observatory.name,
        "device_type": device.device_type,
        "device_number": device.device_number,
        "name": device.name,
        "health": device.health_status,
        "detail": device.health_detail,
        "status": device.status,
        "checked_at": device.last_checked_at.isoformat() if device.last_checked_at else None,
    }
    # A client of our own, not paho's publish.single: that one logs a spurious ERROR ("Client is not
    # connected") after every successful publish, ten per check cycle in the demo.
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        sender.connect(settings.MQTT_HOST, int(settings.MQTT_PORT), 10)
        sender.loop_start()
        sender.publish(mqtt_topic(device), json.dumps(payload), qos=1, retain=True).wait_for_publish(timeout=5)
    except Exception:
        logger.warning("MQTT status publish for device %s failed", device.pk, exc_info=True)
    finally:
        sender.disconnect()
        sender.loop_stop()
