"""Counters and histograms summed over every process of the deployment (web, Celery workers, the MQTT
bridge, the simulator, job workers, on every host). A prometheus_client counter lives in one process
and would show only what the web process itself ingested; here each process adds what it counted
to Redis hashes, at most once a second from a background thread (and when it exits), and /metrics
reports the sums, so any web process answers for the whole deployment.

A process killed outright loses at most its last second of counts; a Redis restart resets the sums,
which Prometheus treats as a counter reset (`rate()` is unaffected)."""

import atexit
import json
import logging
import os
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
_metrics: list = []
_pending: dict[tuple[str, str], float] = {}  # (redis key, hash field) -> amount not yet added
_lock = threading.Lock()
_flusher: dict = {"pid": None, "stop": None}


def _key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "missionops")
    return f"{prefix}:metrics:{name}"


def _redis():
    from .cache_redis import cache_redis

    return cache_redis()


def _add(name: str, field: str, amount: float) -> None:
    with _lock:
        _pending[(name, field)] = _pending.get((name, field), 0.0) + amount
    if _flusher["pid"] != os.getpid():
        _start_flusher()


def flush() -> None:
    """Add what this process counted to the shared sums now (kept for the next try if Redis is away)."""
    with _lock:
        taken = dict(_pending)
        _pending.clear()
    if not taken:
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        for (name, field), amount in taken.items():
            pipe.hincrbyfloat(_key(name), field, amount)
        pipe.execute()
    except Exception:  # noqa: BLE001 - Redis away: counts wait here, the product goes on
        with _lock:
            for item, amount in taken.items():
                _pending[item] = _pending.get(item, 0.0) + amount
        logger.warning("shared metrics: Redis unreachable, %d sums kept for the next flush", len(taken))


def _start_flusher() -> None:
    with _lock:
        if _flusher["pid"] == os.getpid():
            return
        _flusher["pid"], _flusher["stop"] = os.getpid(), threading.Event()
    stop = _flusher["stop"]

    def run():
        while not stop.wait(FLUSH_INTERVAL_S):
            flush()

    threading.Thread(target=run, name="shared-metrics", daemon=True).start()


def _forget_parents_counts() -> None:
    # A forked child (Celery prefork) inherits the parent's unflushed counts: the parent adds them.
    _pending.clear()
    _flusher["pid"] = None


os.register_at_fork(after_in_child=_forget_parents_counts)
atexit.register(flush)


class _Child:
    def __init__(self, metric, labels: tuple[str, ...]):
        self._metric, self._field = metric, json.dumps(labels)

    def inc(self, amount: float = 1.0) -> None:
        if amount:
            _add(self._metric.name, self._field, float(amount))

    def observe(self, value: float) -> None:
        bucket = next((b for b in self._metric.buckets if value <= b), "+Inf")
        _add(self._metric.name, f"{self._field}|{bucket}", 1.0)
        _add(self._metric.name, f"{self._field}|sum", float(value))

    @contextmanager
    def time(self):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)


class SharedCounter:
    """A labelled counter summed over every process (`.labels(...).inc(n)`, as prometheus_client)."""

    kind = "counter"

    def __init__(self, name: str, documentation: str, labelnames: list[str]):
        self.name, self.documentation, self.labelnames = name.removesuffix("_total"), documentation, labelnames
        _metrics.append(self)

    def labels(self, *values) -> _Child:
        return _Child(self, tuple(str(v) for v in values))


class SharedHistogram(SharedCounter):
    """A labelled histogram summed over every process (`.observe(s)`, `.time()`)."""

    kind = "histogram"

    def __init__(self, name: str, documentation: str, labelnames: list[str], *, buckets: tuple[float, ...]):
        super().__init__(name, documentation, labelnames)
        self.buckets = tuple(sorted(buckets))


class SharedMetricsCollector:
    """Reads the sums from Redis at scrape time (registered in the web process's registry)."""

    def describe(self):
        return []  # no query while apps load

    def collect(self):
        try:
            client = _redis()
            stored = {m.name: client.hgetall(_key(m.name)) for m in _metrics}
        except Exception:  # noqa: BLE001 - a scrape never fails because Redis is away
            return
        for metric in _metrics:
            fields = {k.decode(): float(v) for k, v in stored[metric.name].items()}
            if metric.kind == "counter":
                family = CounterMetricFamily(metric.name, metric.documentation, labels=metric.labelnames)
                for field, value in sorted(fields.items()):
                    family.add_metric(json.loads(field), value)
            else:
                family = HistogramMetricFamily(metric.name, metric.documentation, labels=metric.labelnames)
                for labels in sorted({field.split("|")[0] for field in fields}):
                    running, buckets = 0.0, []
                    for bound in (*metric.buckets, "+Inf"):
                        running += fields.get(f"{labels}|{bound}", 0.0)
                        buckets.append((str(bound), running))
                    family.add_metric(json.loads(labels), buckets, fields.get(f"{labels}|sum", 0.0))
            yield family
