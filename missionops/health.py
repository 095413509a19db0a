"""Platform health: database, Redis, channel layer, Celery workers, ingest lag, the MQTT bridge and
every component that registered a heartbeat, each Healthy / Degraded / Unhealthy / Unknown.

The component registry lives in Redis (a hash of name -> JSON): workers and bridges call
`heartbeat(name, kind=..., interval_s=...)` every interval; `sweep_components()` (Celery beat) turns
a component whose heartbeat is overdue Unhealthy, records the transition as an event in every
organization (the platform serves them all) and pushes it on the `health` topic.
"""

import json
import logging
import socket
import threading
import time
import uuid

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN = "Healthy", "Degraded", "Unhealthy", "Unknown"
SLOW_S = 0.5  # a check slower than this still works, but an operator should know
MISSED_BEATS = 2.5  # a component is Unhealthy once this many intervals pass without a heartbeat
FORGET_AFTER_S = 24 * 3600  # an Unhealthy component silent this long leaves the registry
# Old telemetry is Degraded, never Unhealthy: a fleet out of contact is normal operations and must
# not fail the readiness probe.
INGEST_LAG_DEGRADED_S = 60.0
MQTT_BRIDGE = "mqtt_bridge"
JOB_WORKER = "job_worker"  # the kind job workers register with

logger = logging.getLogger(__name__)


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check() or ""
        elapsed = time.monotonic() - started
        status = DEGRADED if elapsed > SLOW_S else HEALTHY
        if isinstance(detail, tuple):
            status, detail = detail
    except Exception as exc:  # a health check reports failures, it never raises them
        elapsed = time.monotonic() - started
        status, detail = UNHEALTHY, f"{type(exc).__name__}: {exc}"[:300]
    return {"status": status, "latency_ms": round(elapsed * 1000, 1), "detail": detail}


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.HEALTH_CHECK_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def check_channel_layer():
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await layer.receive(channel)
        if message.get("token") != token:
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()


def check_celery():
    from missionops import celery_app as app  # the package's app: celery.py itself imports this module

    replies = app.control.ping(timeout=settings.HEALTH_CHECK_TIMEOUT_S) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return UNHEALTHY, "no Celery worker answered ping"
    return HEALTHY, f"{len(workers)} worker(s): {', '.join(workers)}"


def check_ingest_lag():
    """Age of the newest telemetry sample: Unknown before any telemetry arrives."""
    from django.apps import apps
    from django.db.models import Max
    from django.utils import timezone

    newest = apps.get_model("telemetry", "LatestValue").objects.aggregate(newest=Max("time"))["newest"]
    if newest is None:
        return UNKNOWN, "no telemetry received yet"
    lag = (timezone.now() - newest).total_seconds()
    status = HEALTHY if lag < INGEST_LAG_DEGRADED_S else DEGRADED
    return status, f"newest sample {lag:.0f} s old"


def check_mqtt_bridge(registry: dict | None = None):
    try:
        entry = (registry if registry is not None else registered_components()).get(MQTT_BRIDGE)
    except redis.RedisError as exc:
        return UNKNOWN, f"component registry unavailable: {exc}"[:300]
    if entry is None:
        if not settings.HEALTH_EXPECT_MQTT_BRIDGE:
            return UNKNOWN, "no MQTT bridge expected (HEALTH_EXPECT_MQTT_BRIDGE=false)"
        return DEGRADED, "no MQTT bridge alive: MQTT telemetry is not ingested (is `manage.py ingest_mqtt` running?)"
    return entry["status"], entry["detail"]


def check_job_workers(registry: dict | None = None):
    """Job workers heartbeat as `job_worker:<name>`: with none alive, queued jobs wait (Degraded)."""
    try:
        registry = registry if registry is not None else registered_components()
        workers = [e for e in registry.values() if e.get("kind") == JOB_WORKER]
    except redis.RedisError as exc:
        return UNKNOWN, f"component registry unavailable: {exc}"[:300]
    alive = sum(1 for e in workers if e["status"] == HEALTHY)
    if not alive:
        return DEGRADED, "no job worker alive: queued jobs wait (is `manage.py job_worker` running?)"
    return HEALTHY, f"{alive} job worker(s) alive"


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "channel_layer": check_channel_layer,
    "celery": check_celery,
    "ingest_lag": check_ingest_lag,
    MQTT_BRIDGE: check_mqtt_bridge,
    "job_workers": check_job_workers,
}


def overall_status(statuses) -> str:
    """Unknown (not yet reporting) does not make the platform unhealthy; Unhealthy anywhere does."""
    statuses = set(statuses)
    return UNHEALTHY if UNHEALTHY in statuses else DEGRADED if DEGRADED in statuses else HEALTHY


def platform_health() -> dict:
    components = {name: _timed(check) for name, check in CHECKS.items()}
    try:
        registry = registered_components()
    except Exception as exc:  # Redis is down: its own check says so already
        registry = {}
        logger.warning("component registry unavailable: %s", exc)
    components.update(registry_rows(registry))
    return {"status": overall_status(c["status"] for c in components.values()), "components": components}


def report_name(name: str, kind: str | None) -> str:
    """Where a registered component shows in the report: its own `component:<name>` row, or the
    row of the check that sums it up (the MQTT bridge, job workers)."""
    if name == MQTT_BRIDGE:
        return MQTT_BRIDGE
    return "job_workers" if kind == JOB_WORKER else f"component:{name}"


def registry_rows(registry: dict) -> dict:
    """The report's `component:<name>` rows of registered components (status computed)."""
    rows = {}
    for name, entry in registry.items():
        shown = report_name(name, entry.get("kind"))
        if shown.startswith("component:"):
            rows[shown] = {"status": entry["status"], "latency_ms": 0.0, "detail": entry["detail"]}
    return rows


# -- component registry -------------------------------------------------------------------------


def _registry_key() -> str:
    """Per deployment (and per test run): the channel layer's prefix, unless set explicitly."""
    explicit = settings.HEALTH_REGISTRY_KEY
    if explicit:
        return explicit
    prefix = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {}).get("prefix", "missionops")
    return f"{prefix}:health:components"


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.HEALTH_CHECK_TIMEOUT_S)


def heartbeat(name: str, *, kind: str, interval_s: float, detail: str = "") -> None:
    """Register `name` (or renew it): call at least every `interval_s` seconds."""
    client = _redis()
    try:
        raw = client.hget(_registry_key(), name)
        entry = json.loads(raw) if raw else {"registered_at": time.time(), "status": HEALTHY}
        entry.update(kind=kind, interval_s=float(interval_s), last_heartbeat=time.time(), detail=detail)
        client.hset(_registry_key(), name, json.dumps(entry))
    finally:
        client.close()


def deregister(name: str) -> None:
    """A component shutting down cleanly leaves the registry: its silence is then no alarm."""
    client = _redis()
    try:
        client.hdel(_registry_key(), name)
    finally:
        client.close()


def _evaluate(entry: dict, now: float) -> tuple[str, str]:
    age = now - entry["last_heartbeat"]
    if age > MISSED_BEATS * entry["interval_s"]:
        return UNHEALTHY, f"missed heartbeat: last one {age:.0f} s ago (every {entry['interval_s']:g} s expected)"
    return HEALTHY, entry.get("detail") or f"heartbeat {age:.0f} s ago"


def registered_components(*, now: float | None = None) -> dict:
    """name -> {kind, status, detail, last_heartbeat, interval_s}, status computed now."""
    now = now or time.time()
    client = _redis()
    try:
        raw = client.hgetall(_registry_key())
    finally:
        client.close()
    components = {}
    for name, value in raw.items():
        entry = json.loads(value)
        entry["status"], entry["detail"] = _evaluate(entry, now)
        components[name.decode() if isinstance(name, bytes) else name] = entry
    return components


def sweep_components(*, now: float | None = None) -> list[dict]:
    """Compare each component's level with the one last recorded; record every change as an
    event (in every organization) and a live message on `health`. Returns the transitions.

    The live message is `{"kind": "component", "data": {"components": {<row>: ...}}}`: the /health/
    report restricted to the row the change shows in (as of `now`; no overall status, and a
    forgotten component's row is null: it left the report)."""
    from . import live
    from .models import Organization
    from .services import record_event

    now = now or time.time()
    client = _redis()
    transitions = []
    registry = {}  # as registered_components(now=now) reads it once the sweep is done
    try:
        for raw_name, value in client.hgetall(_registry_key()).items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
            entry = json.loads(value)
            status, detail = _evaluate(entry, now)
            if status == UNHEALTHY and now - entry["last_heartbeat"] > FORGET_AFTER_S:
                client.hdel(_registry_key(), name)
                transitions.append(
                    {
                        "component": name,
                        "kind": entry.get("kind"),
                        "from": entry.get("status"),
                        "to": "forgotten",
                        "detail": detail,
                    }
                )
                continue
            registry[name] = {**entry, "status": status, "detail": detail}
            if status != entry.get("status"):
                transitions.append(
                    {
                        "component": name,
                        "kind": entry.get("kind"),
                        "from": entry.get("status"),
                        "to": status,
                        "detail": detail,
                    }
                )
                entry["status"] = status
                # Written only if the entry was not renewed meanwhile (a heartbeat wins).
                current = client.hget(_registry_key(), name)
                if current and json.loads(current)["last_heartbeat"] == entry["last_heartbeat"]:
                    client.hset(_registry_key(), name, json.dumps(entry))
    finally:
        client.close()
    if not transitions:
        return transitions
    rows = registry_rows(registry)  # the rows /health/ shows, by the same code
    rows[MQTT_BRIDGE] = _timed(lambda: check_mqtt_bridge(registry))
    rows["job_workers"] = _timed(lambda: check_job_workers(registry))
    organizations = list(Organization.objects.all())
    for transition in transitions:
        shown = report_name(transition["component"], transition["kind"])
        message = {"kind": "component", "data": {"components": {shown: rows.get(shown)}}}
        for organization in organizations:
            record_event(organization=organization, kind="health.component", payload=transition)
            live.publish("health", message, organization=organization)
    return transitions


def start_heartbeat_thread(name: str, *, kind: str, interval_s: float, detail: str = "") -> threading.Event:
    """Heartbeat from a daemon thread until the returned event is set (then deregister)."""
    stop = threading.Event()

    def beat():
        while not stop.is_set():
            try:
                heartbeat(name, kind=kind, interval_s=interval_s, detail=detail)
            except Exception as exc:  # Redis away: the registry will show the silence
                logger.warning("heartbeat of %s failed: %s", name, exc)
            stop.wait(interval_s)
        try:
            deregister(name)
        except Exception:
            logger.warning("deregistering %s failed", name, exc_info=True)

    threading.Thread(target=beat, name=f"heartbeat-{name}", daemon=True).start()
    return stop


WORKER_HEARTBEAT_S = 10.0
_worker_heartbeat: dict = {}


def connect_worker_heartbeats() -> None:
    """Celery workers register as `worker:<hostname>` and heartbeat while they run."""
    from celery import signals

    def ready(sender=None, **kwargs):
        hostname = getattr(sender, "hostname", None) or socket.gethostname()
        _worker_heartbeat[hostname] = start_heartbeat_thread(
            f"worker:{hostname}", kind="celery_worker", interval_s=WORKER_HEARTBEAT_S, detail="Celery worker"
        )

    def shutdown(sender=None, **kwargs):
        for hostname, stop in list(_worker_heartbeat.items()):
            stop.set()
            try:
                deregister(f"worker:{hostname}")
            except Exception:
                logger.warning("deregistering worker %s failed", hostname, exc_info=True)

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
