"""Live side of ingest: coalesced pushes of changed latest values and per-interface rate counters.

Coalescing is shared across processes through Redis, one script call per offer: the changed values
go into the spacecraft's pending hash, and if its window is free (a SET NX PX key of
`TELEMETRY_LIVE_INTERVAL_S`, 50 ms: at most 20 messages a second per `sc.<id>` topic) the script
takes everything pending and the caller publishes it at once, so an isolated batch reaches the
sockets in a few milliseconds after its commit. An offer that meets a busy window leaves its values
pending and schedules one trailing flush for the moment the window ends, so the last values of a
burst always go out.

A message is `{"kind": "telemetry", "data": <LatestValues>}`: what `GET /api/v1/telemetry/latest/`
answers, restricted to the parameters that changed, each row made by the same code (as of its
ingest's commit), plus `committed_at` (Unix seconds of the newest commit in it), so a client can
tell its delay. The pending hash holds each changed parameter's row already encoded.
"""

import datetime as dt
import json
import logging
import threading
import time

import redis
from django.conf import settings

from missionops import live as platform_live

from . import representations, selectors

logger = logging.getLogger(__name__)

RATE_WINDOW_S = 10
_client = None
_client_lock = threading.Lock()
_flush_scheduled: set = set()


def interval_s() -> float:
    return settings.TELEMETRY_LIVE_INTERVAL_S


def client() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return _client


def _prefix() -> str:
    return f"{settings.CHANNEL_LAYERS['default']['CONFIG'].get('prefix', 'missionops')}:telemetry"


def after_ingest(*, spacecraft: dict, params: dict, changed: list, counts: dict, interface: str) -> None:
    """Runs after an ingest commits: count the samples and offer the changed values for publishing,
    in one Redis round trip. Redis trouble is logged, never raised: the samples are already safely
    stored."""
    committed_at = time.time()
    now = dt.datetime.fromtimestamp(committed_at, dt.UTC)
    by_pid = {p.id: (sc_pk, p.definition) for sc_pk, known in params.items() for p in known.values()}
    values_by_sc: dict = {}
    for pid, moment, value in changed:
        sc_pk, definition = by_pid[pid]
        row = selectors.latest_row(definition, value, moment, now)
        values_by_sc.setdefault(sc_pk, {})[definition.name] = representations.latest_row_json(row)
    try:
        pipe = client().pipeline(transaction=False)
        _count(pipe, counts=counts, interface=str(interface))
        offered = list(values_by_sc.items())
        for sc_pk, values in offered:
            _take(sc_pk, _fields(values, committed_at), pipe=pipe)
        try:
            replies = pipe.execute()[-len(offered) :] if offered else []
        except redis.exceptions.NoScriptError:  # Redis restarted: the counts went in, offer again
            _sha(reload=True)
            replies = [_take(sc_pk, _fields(values, committed_at)) for sc_pk, values in offered]
        for (sc_pk, _), taken in zip(offered, replies, strict=True):
            _publish_or_wait(spacecraft[sc_pk], taken)
    except redis.RedisError:
        logger.warning("telemetry live/rate update failed", exc_info=True)


def count_samples(*, counts: dict, interface: str) -> None:
    pipe = client().pipeline(transaction=False)
    _count(pipe, counts=counts, interface=interface)
    pipe.execute()


def _count(pipe, *, counts: dict, interface: str) -> None:
    second = int(time.time())
    for sc_pk, count in counts.items():
        key = f"{_prefix()}:rate:{sc_pk}:{interface}:{second}"
        pipe.incrby(key, count)
        pipe.expire(key, RATE_WINDOW_S * 3)


def _rate_keys(spacecraft_id, now: float | None = None) -> list[tuple[str, str]]:
    from .models import Interface

    now = int(now or time.time())
    return [
        (i, f"{_prefix()}:rate:{spacecraft_id}:{i}:{s}")
        for i in Interface.values
        for s in range(now - RATE_WINDOW_S, now)
    ]


def ingest_rates(spacecraft_id, *, now: float | None = None) -> dict:
    """Samples per second over the last RATE_WINDOW_S seconds, per interface and in total."""
    keys = _rate_keys(spacecraft_id, now)
    try:
        counts = client().mget([key for _, key in keys])
    except redis.RedisError:
        return {"total": None, "by_interface": {}}
    return _rates(keys, counts)


def _rates(keys, counts) -> dict:
    by_interface: dict = {}
    for (interface, _), count in zip(keys, counts, strict=True):
        if count:
            by_interface[interface] = by_interface.get(interface, 0) + int(count)
    rates = {i: round(c / RATE_WINDOW_S, 1) for i, c in by_interface.items()}
    return {"total": round(sum(by_interface.values()) / RATE_WINDOW_S, 1), "by_interface": rates}


# KEYS: pending hash, window key, then the rate counters of the last RATE_WINDOW_S seconds.
# ARGV: window ms, pending TTL s, then field, value pairs to add. When this call takes the window:
# {everything pending (emptied), the rate counters}; else the ms until the window ends.
TAKE_WINDOW = """
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then
  local values = redis.call('HGETALL', KEYS[1])
  redis.call('DEL', KEYS[1])
  local counts = {}
  for i = 3, #KEYS do
    counts[i - 2] = redis.call('GET', KEYS[i]) or ''
  end
  return {values, counts}
end
if #ARGV > 2 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return math.max(1, redis.call('PTTL', KEYS[2]))
"""
COMMITTED_AT = "\x00committed_at"  # a hash field no parameter name can be
_script_sha: str | None = None


def _sha(*, reload: bool = False) -> str:
    """TAKE_WINDOW's digest, loaded once per process (EVALSHA in a pipeline costs no extra trip)."""
    global _script_sha
    if _script_sha is None or reload:
        _script_sha = client().script_load(TAKE_WINDOW)
    return _script_sha


def _take(spacecraft_pk, fields: dict, *, pipe=None):
    """Run TAKE_WINDOW for a spacecraft; its reply, or None when queued on `pipe`."""
    window_ms = max(1, int(interval_s() * 1000))
    keys = [f"{_prefix()}:pending:{spacecraft_pk}", f"{_prefix()}:window:{spacecraft_pk}"]
    keys += [key for _, key in _rate_keys(spacecraft_pk)]
    args = [window_ms, 60]
    for name, value in fields.items():
        args += [name, value]
    if pipe is not None:
        pipe.evalsha(_sha(), len(keys), *keys, *args)
        return None
    try:
        return client().evalsha(_sha(), len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:  # Redis restarted since the script was loaded
        return client().evalsha(_sha(reload=True), len(keys), *keys, *args)


def _fields(encoded: dict, committed_at: float | None) -> dict:
    fields = dict(encoded)  # parameter name -> its row, JSON
    fields[COMMITTED_AT] = repr(committed_at if committed_at is not None else time.time())
    return fields


def offer(*, spacecraft, values: dict, committed_at: float | None = None) -> None:
    """Queue changed values (parameter name -> its `representations.latest_row`) for `sc.<id>`:
    published at once if the spacecraft's window is free, else by one trailing flush when it ends."""
    encoded = {name: json.dumps(row) for name, row in values.items()}
    _publish_or_wait(spacecraft, _take(spacecraft.pk, _fields(encoded, committed_at)))


def flush(spacecraft) -> bool:
    """Publish everything pending for this spacecraft if its window is free; False if it is not."""
    return _publish_or_wait(spacecraft, _take(spacecraft.pk, {}), schedule=False)


def _publish_or_wait(spacecraft, taken, *, schedule: bool = True) -> bool:
    if isinstance(taken, int):  # the window is busy for `taken` ms more
        if schedule:
            _schedule_trailing_flush(spacecraft, taken / 1000)
        return False
    flat, counts = taken
    pending = {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
    committed_at = pending.pop(COMMITTED_AT, None)
    if pending:
        rate_keys = _rate_keys(spacecraft.pk)  # the counters the script read (same second, or one on)
        rows = sorted((json.loads(v) for v in pending.values()), key=lambda r: (r["subsystem"], r["parameter"]))
        data = representations.latest_values(
            spacecraft=spacecraft,
            rate=_rates(rate_keys, [int(c) if c else 0 for c in counts]),
            rows=rows,
            committed_at=float(committed_at) if committed_at else time.time(),
        )
        payload = {"kind": "telemetry", "data": data}  # the REST answer's shape (LatestValues)
        # Already after the commit (or on a timer thread): sent now, and no database connection taken.
        platform_live.publish_now(f"sc.{spacecraft.pk}", payload, organization=spacecraft.organization_id)
    return True


def _schedule_trailing_flush(spacecraft, delay_s: float) -> None:
    with _client_lock:
        if spacecraft.pk in _flush_scheduled:
            return
        _flush_scheduled.add(spacecraft.pk)

    def run():
        with _client_lock:
            _flush_scheduled.discard(spacecraft.pk)
        try:
            _publish_or_wait(spacecraft, _take(spacecraft.pk, {}))  # busy (another process): wait again
        except redis.RedisError:
            logger.warning("telemetry trailing flush failed", exc_info=True)

    timer = threading.Timer(delay_s, run)
    timer.daemon = True
    timer.start()
