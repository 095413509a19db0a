"""Live side of ingest: coalesced pushes of changed latest values and per-interface rate counters.

Coalescing is shared across processes through Redis: a spacecraft may publish once per
`TELEMETRY_LIVE_INTERVAL_S` (a SET NX PX key). Changed values wait in a Redis hash meanwhile; the
process that was refused schedules one trailing flush at the window's end, so the last values of a
burst always go out, and the rate stays at most a few messages per second whatever the ingest rate.
"""

import json
import logging
import threading
import time

import redis
from django.conf import settings

from missionops import live as platform_live

logger = logging.getLogger(__name__)

RATE_WINDOW_S = 10
_client = None
_client_lock = threading.Lock()
_flush_scheduled: set = set()


def interval_s() -> float:
    return getattr(settings, "TELEMETRY_LIVE_INTERVAL_S", 0.25)


def client() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return _client


def _prefix() -> str:
    return f"{settings.CHANNEL_LAYERS['default']['CONFIG'].get('prefix', 'missionops')}:telemetry"


def after_ingest(*, spacecraft: dict, params: dict, changed: list, counts: dict, interface: str) -> None:
    """Runs after an ingest commits: count the samples, offer the changed values for publishing.
    Redis trouble is logged, never raised: the samples are already safely stored."""
    by_pid = {p.id: (sc_pk, p.definition) for sc_pk, known in params.items() for p in known.values()}
    values_by_sc: dict = {}
    for pid, moment, value in changed:
        sc_pk, definition = by_pid[pid]
        values_by_sc.setdefault(sc_pk, {})[definition.name] = {
            "value": definition.display_value(value),
            "time": moment.isoformat(),
            "status": definition.status_of(value),
        }
    try:
        count_samples(counts=counts, interface=str(interface))
        for sc_pk, values in values_by_sc.items():
            offer(spacecraft=spacecraft[sc_pk], values=values)
    except redis.RedisError:
        logger.warning("telemetry live/rate update failed", exc_info=True)


def count_samples(*, counts: dict, interface: str) -> None:
    second = int(time.time())
    pipe = client().pipeline(transaction=False)
    for sc_pk, count in counts.items():
        key = f"{_prefix()}:rate:{sc_pk}:{interface}:{second}"
        pipe.incrby(key, count)
        pipe.expire(key, RATE_WINDOW_S * 3)
    pipe.execute()


def ingest_rates(spacecraft_id, *, now: float | None = None) -> dict:
    """Samples per second over the last RATE_WINDOW_S seconds, per interface and in total."""
    from .models import Interface

    now = int(now or time.time())
    seconds = range(now - RATE_WINDOW_S, now)
    keys = [(i, s) for i in Interface.values for s in seconds]
    try:
        counts = client().mget([f"{_prefix()}:rate:{spacecraft_id}:{i}:{s}" for i, s in keys])
    except redis.RedisError:
        return {"total": None, "by_interface": {}}
    by_interface: dict = {}
    for (interface, _), count in zip(keys, counts, strict=True):
        if count:
            by_interface[interface] = by_interface.get(interface, 0) + int(count)
    rates = {i: round(c / RATE_WINDOW_S, 1) for i, c in by_interface.items()}
    return {"total": round(sum(by_interface.values()) / RATE_WINDOW_S, 1), "by_interface": rates}


def offer(*, spacecraft, values: dict) -> None:
    """Queue changed values for `sc.<id>`; publish now if the spacecraft's window is free."""
    r = client()
    pending_key = f"{_prefix()}:pending:{spacecraft.pk}"
    r.hset(pending_key, mapping={name: json.dumps(v) for name, v in values.items()})
    r.expire(pending_key, 60)
    if not flush(spacecraft):
        _schedule_trailing_flush(spacecraft)


def flush(spacecraft) -> bool:
    """Publish everything pending for this spacecraft if its window is free; False if it is not."""
    r = client()
    window_ms = max(1, int(interval_s() * 1000))
    if not r.set(f"{_prefix()}:window:{spacecraft.pk}", 1, nx=True, px=window_ms):
        return False
    pending_key = f"{_prefix()}:pending:{spacecraft.pk}"
    pipe = r.pipeline(transaction=True)
    pipe.hgetall(pending_key)
    pipe.delete(pending_key)
    raw, _ = pipe.execute()
    if raw:
        values = {k.decode(): json.loads(v) for k, v in raw.items()}
        payload = {"kind": "telemetry", "spacecraft": str(spacecraft.pk), "values": values}
        payload["rate"] = ingest_rates(spacecraft.pk)
        platform_live.publish(f"sc.{spacecraft.pk}", payload, organization=spacecraft.organization_id)
    return True


def _schedule_trailing_flush(spacecraft) -> None:
    with _client_lock:
        if spacecraft.pk in _flush_scheduled:
            return
        _flush_scheduled.add(spacecraft.pk)

    def run():
        with _client_lock:
            _flush_scheduled.discard(spacecraft.pk)
        try:
            if not flush(spacecraft):
                _schedule_trailing_flush(spacecraft)  # another process holds the window: retry
        except redis.RedisError:
            logger.warning("telemetry trailing flush failed", exc_info=True)

    timer = threading.Timer(interval_s(), run)
    timer.daemon = True
    timer.start()
