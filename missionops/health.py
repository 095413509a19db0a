"""Platform health: database, Redis, channel layer and Celery workers, each Healthy / Degraded / Unhealthy."""

import time
import uuid

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

HEALTHY, DEGRADED, UNHEALTHY = "Healthy", "Degraded", "Unhealthy"
SLOW_S = 0.5  # a check slower than this still works, but an operator should know


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
    from missionops.celery import app

    replies = app.control.ping(timeout=settings.HEALTH_CHECK_TIMEOUT_S) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return UNHEALTHY, "no Celery worker answered ping"
    return HEALTHY, f"{len(workers)} worker(s): {', '.join(workers)}"


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "channel_layer": check_channel_layer,
    "celery": check_celery,
}


def platform_health() -> dict:
    components = {name: _timed(check) for name, check in CHECKS.items()}
    statuses = {c["status"] for c in components.values()}
    overall = UNHEALTHY if UNHEALTHY in statuses else DEGRADED if DEGRADED in statuses else HEALTHY
    return {"status": overall, "components": components}
