"""Telemetry speed, all from one run.

Table 1, ingest throughput: the ingest service vs Django bulk_create vs raw binary COPY, all into the
same partitioned archive table (with its primary-key index), each into a fresh day partition.

Table 2, end to end against a real daphne this script starts (throttles raised, as bench/load.py):
the latency of a 1-sample request (the fixed per-request cost), HTTP ingest from N concurrent
clients (samples/s, request latency), ingest -> browser-socket latency at a fixed rate (a
/ws/live/ client subscribed to `sc.<id>`), and series queries over 1 hour, 30 days and 1 year of
1 Hz data (the 335 older days of the year seeded as minute roll-ups, as retention leaves them);
each with a named peer.

    .venv/bin/python bench/ingest.py --samples 1000000      # the figures in README
    .venv/bin/python bench/ingest.py --samples 200000 --http-seconds 5 --live-seconds 5   # quicker
    .venv/bin/python bench/ingest.py --no-e2e               # table 1 only
    .venv/bin/python bench/ingest.py --fixed-cost-only      # the 1-sample request row only

Uses DATABASE_URL / REDIS_URL (a throwaway organization "bench-telemetry"; the day partitions and
rows it writes are dropped or deleted after).
"""

import argparse
import asyncio
import datetime as dt
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from django.db import connection  # noqa: E402

from bench.server import start_daphne  # noqa: E402
from missionops import apikeys  # noqa: E402
from missionops import live as platform_live  # noqa: E402
from missionops.models import Organization  # noqa: E402
from missionops.services import create_organization  # noqa: E402
from spacecraft.services import create_spacecraft  # noqa: E402
from telemetry import archive, selectors, services  # noqa: E402
from telemetry.models import ParameterDefinition, Sample  # noqa: E402

SPACECRAFT, PARAMETERS = 4, 20
SERVICE = "ingest service (validate, sort, COPY in a savepoint)"
BULK, COPY = "Django bulk_create", "raw binary COPY (unsorted)"
DAYS = {"service": dt.date(2001, 1, 1), "bulk_create": dt.date(2001, 1, 2), "copy": dt.date(2001, 1, 3)}


def fleet():
    org = Organization.objects.filter(slug="bench-telemetry").first() or create_organization(
        name="Bench telemetry", slug="bench-telemetry"
    )
    parameters = {f"p{i:02d}": {"subsystem": "power", "units": "V", "type": "float"} for i in range(PARAMETERS)}
    crafts = []
    for n in range(SPACECRAFT):
        sc = org.spacecraft.filter(designation=f"BENCH-{n}").first() or create_spacecraft(
            organization=org,
            designation=f"BENCH-{n}",
            name=f"Bench {n}",
            mission_type="LEO_IMAGING",
            parameters=parameters,
        )
        crafts.append(sc)
    services.ingest(  # registers the definitions (outside the timed part)
        snapshots=[
            {
                "spacecraft": sc.designation,
                "timestamp": "2001-01-05T00:00:00Z",
                "parameters": {name: 1.0 for name in parameters},
            }
            for sc in crafts
        ],
        scope=services.organization_scope(org),
    )
    return org, crafts


def drop_days():
    with connection.cursor() as cursor:
        for day in [*DAYS.values(), dt.date(2001, 1, 5)]:
            cursor.execute(f"DROP TABLE IF EXISTS {archive.partition_name(day)}")
        cursor.execute("DELETE FROM telemetry_pending_rollup WHERE bucket < '2001-02-01'")
        cursor.execute("DELETE FROM telemetry_minute_rollup WHERE bucket < '2001-02-01'")


def snapshot_times(day, count):
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return [start + dt.timedelta(milliseconds=100 * i) for i in range(count)]  # 10 Hz fits in one day


def bench_service(org, crafts, n_snapshots, batch):
    names = [f"p{i:02d}" for i in range(PARAMETERS)]
    rng = np.random.default_rng(1)
    times = [t.isoformat() for t in snapshot_times(DAYS["service"], n_snapshots)]
    snapshots = [
        {
            "spacecraft": sc.designation,
            "timestamp": t,
            "parameters": dict(zip(names, rng.random(PARAMETERS).tolist(), strict=True)),
        }
        for t in times
        for sc in crafts
    ]
    archive.ensure_partitions([DAYS["service"]])
    scope = services.organization_scope(org)
    started = time.perf_counter()
    stored = 0
    for i in range(0, len(snapshots), batch):
        stored += services.ingest(snapshots=snapshots[i : i + batch], scope=scope).stored
    return stored, time.perf_counter() - started


def rows_for(crafts, day, n_snapshots):
    ids = np.array(
        list(ParameterDefinition.objects.filter(spacecraft__in=crafts).order_by("id").values_list("id", flat=True)),
        dtype=np.int32,
    )
    start_us = archive.to_us(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))
    times = start_us + np.arange(n_snapshots, dtype=np.int64) * 100_000
    # Snapshot order (time-major), as rows arrive: not sorted by the index key.
    pids = np.tile(ids, n_snapshots)
    ts = np.repeat(times, len(ids))
    values = np.random.default_rng(2).random(len(pids))
    return pids, ts, values


def bench_bulk_create(crafts, n_snapshots, batch):
    pids, ts, values = rows_for(crafts, DAYS["bulk_create"], n_snapshots)
    archive.ensure_partitions([DAYS["bulk_create"]])
    stamps = [archive.from_us(t) for t in np.unique(ts).tolist()]
    by_us = dict(zip(np.unique(ts).tolist(), stamps, strict=True))
    started = time.perf_counter()
    rows = [
        Sample(parameter_id=p, time=by_us[t], value=v)
        for p, t, v in zip(pids.tolist(), ts.tolist(), values.tolist(), strict=True)
    ]
    Sample.objects.bulk_create(rows, batch_size=batch)
    return len(rows), time.perf_counter() - started


def bench_copy(crafts, n_snapshots, batch):
    pids, ts, values = rows_for(crafts, DAYS["copy"], n_snapshots)
    archive.ensure_partitions([DAYS["copy"]])
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for i in range(0, len(pids), batch):
            archive.copy_rows(cursor, archive.TABLE, pids[i : i + batch], ts[i : i + batch], values[i : i + batch])
    return len(pids), time.perf_counter() - started


# --- end to end, against a real daphne ----------------------------------------------------------

# Days nothing else writes (the year before it too: roll-ups only); dropped after.
SERIES_START = dt.datetime(2003, 1, 1, tzinfo=dt.UTC)


def percentile(values, q):
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Client:
    """One keep-alive HTTP connection, as a long-running ingest client holds."""

    def __init__(self, port, key):
        self.port, self.headers = port, {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, body=None):
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):  # the server closed the connection: reconnect once
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        return response.status, response.read()


def bench_http(port, key, crafts, clients, seconds, batch):
    """`clients` threads POST batches of `batch` samples as fast as the server answers, for `seconds`,
    each client for one spacecraft (as the simulator and the MQTT bridge send).
    Samples are an hour old (this day's partitions), on interleaved time grids: no two requests
    send the same sample, so every sample is stored. Peer: the same clients on GET /login/ (a
    page that touches no database), the cost of daphne and Django alone."""
    names = [f"p{i:02d}" for i in range(PARAMETERS)]
    per_request = max(1, batch // PARAMETERS)
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    stop, lock = threading.Event(), threading.Lock()
    latencies, stats = [], {"stored": 0, "errors": 0}

    def client(lane, path):
        http_client, seq = Client(port, key), 0
        while not stop.is_set():
            body = None
            if path != "/login/":
                snapshots = [
                    {
                        "spacecraft": crafts[lane % len(crafts)].designation,  # a client streams one spacecraft
                        # 10 µs grid, lanes interleaved: unique (spacecraft, time) across clients
                        "timestamp": (
                            t0 + dt.timedelta(microseconds=10 * ((seq * per_request + i) * clients + lane))
                        ).isoformat(),
                        "parameters": {name: float(seq + i) for name in names},
                    }
                    for i in range(per_request)
                ]
                body = json.dumps(snapshots)
            started = time.perf_counter()
            status, reply = http_client.request("POST" if body else "GET", path, body)
            elapsed = time.perf_counter() - started
            with lock:
                if status in (200, 201):
                    latencies.append(elapsed)
                    stats["stored"] += json.loads(reply)["stored"] if body else 0
                else:
                    stats["errors"] += 1
            seq += 1

    results = {}
    for path in ("/api/v1/telemetry/", "/login/"):
        latencies.clear()
        stop.clear()
        threads = [threading.Thread(target=client, args=(lane, path)) for lane in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        results[path] = {
            "requests_s": len(latencies) / elapsed,
            "samples_s": stats["stored"] / elapsed,
            "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "errors": stats["errors"],
        }
        stats["errors"] = 0
    return results["/api/v1/telemetry/"], results["/login/"], t0


def bench_fixed_cost(port, key, sc, requests):
    """Latency of the smallest request: one client POSTs 1 sample per request, one after another,
    so nearly all of it is the per-request work (authentication, the spacecraft and its
    permissions, the parameter definitions, the transaction). Peer: the same client on GET /login/
    (no database), daphne and Django alone. Times are 50 minutes old, 1 µs apart (deleted after)."""
    http_client = Client(port, key)
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50)
    results = {}
    for path in ("/api/v1/telemetry/", "/login/"):
        latencies = []
        for seq in range(requests + requests // 10):  # the first tenth warms up, not counted
            body = None
            if path != "/login/":
                moment = t0 + dt.timedelta(microseconds=seq)
                body = json.dumps(
                    [{"spacecraft": sc.designation, "timestamp": moment.isoformat(), "parameters": {"p00": 1.0}}]
                )
            started = time.perf_counter()
            status, _ = http_client.request("POST" if body else "GET", path, body)
            elapsed = time.perf_counter() - started
            assert status == 200, status
            if seq >= requests // 10:
                latencies.append(elapsed * 1000)
        results[path] = {"p50": percentile(latencies, 0.5), "p90": percentile(latencies, 0.9)}
    return results["/api/v1/telemetry/"], results["/login/"]


async def live_latency(port, key, sc, rate, seconds, batch):
    """ms from sending an ingest request to a /ws/live/ message showing its value.

    One HTTP client ingests `rate` samples/s for `sc` in requests of `batch` samples (p00 carries
    the request's sequence number, times are now); a socket subscribed to `sc.<id>` notes when each
    number first shows up. Pushes are coalesced (TELEMETRY_LIVE_INTERVAL_S), so not every request
    is seen, and the latency includes the wait for the coalescing window: what a browser sees.
    Peer: a bare channel-layer publish to the same topic from this process (the transport alone)."""
    names = [f"p{i:02d}" for i in range(PARAMETERS)]
    per_request = max(1, batch // PARAMETERS)
    sent, seen = {}, {}
    peer_sent, peer_seen = {}, {}
    loop = asyncio.get_running_loop()

    def ingest(stop_at):
        http_client, seq, interval = Client(port, key), 0, per_request * PARAMETERS / rate
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            now = dt.datetime.now(dt.UTC)
            snapshots = [
                {
                    "spacecraft": sc.designation,
                    "timestamp": (now - dt.timedelta(microseconds=100 * (per_request - i))).isoformat(),
                    "parameters": {name: float(seq) if name == "p00" else 1.0 for name in names},
                }
                for i in range(per_request)
            ]
            body = json.dumps(snapshots)
            sent[seq] = time.monotonic()
            http_client.request("POST", "/api/v1/telemetry/", body)
            seq += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def peer(stop_at):
        n = 0
        while time.monotonic() < stop_at:
            peer_sent[n] = time.monotonic()
            platform_live.publish(f"sc.{sc.pk}", {"kind": "probe", "n": n}, organization=sc.organization_id)
            n += 1
            time.sleep(0.05)

    url = f"ws://127.0.0.1:{port}/ws/live/?token={key}"
    async with websockets.connect(url, open_timeout=30) as ws:
        await ws.send(json.dumps({"action": "subscribe", "topics": [f"sc.{sc.pk}"]}))
        while json.loads(await ws.recv()).get("type") != "subscribed":
            pass

        async def listen(stop_at):
            while time.monotonic() < stop_at:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=max(0.05, stop_at - time.monotonic()))
                except TimeoutError:
                    return
                at = time.monotonic()
                data = json.loads(raw).get("data", {})
                if data.get("kind") == "probe":
                    peer_seen.setdefault(data["n"], at)
                elif data.get("kind") == "telemetry" and "p00" in data.get("values", {}):
                    seen.setdefault(int(data["values"]["p00"]["value"]), at)

        for worker, duration in ((peer, 3.0), (ingest, seconds)):
            stop_at = time.monotonic() + duration
            task = loop.run_in_executor(None, worker, stop_at)
            await listen(stop_at + 2.0)  # the last pushes arrive up to a window later
            await task
    latencies = [(seen[n] - sent[n]) * 1000 for n in seen if n in sent]
    peer_latencies = [(peer_seen[n] - peer_sent[n]) * 1000 for n in peer_seen if n in peer_sent]
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "seen": len(latencies),
        "sent": len(sent),
        "peer_p50": percentile(peer_latencies, 0.5),
        "peer_p99": percentile(peer_latencies, 0.99),
    }


def series_signal(first_s: int, n: int, seed: int) -> np.ndarray:
    """The bench's 1 Hz signal at seconds [first_s, first_s + n) from SERIES_START."""
    return np.sin(np.arange(first_s, first_s + n) / 600.0) + np.random.default_rng(seed).normal(0, 0.05, n)


def seed_series(definition, days):
    """`days` of 1 Hz samples for one parameter, through the fastest path (sorted binary COPY into
    the archive), then rolled up (minutes, then hours) as the Celery task does."""
    archive.ensure_partitions([SERIES_START.date() + dt.timedelta(days=d) for d in range(days)])
    start_us = archive.to_us(SERIES_START)
    n = days * 86_400
    times = start_us + np.arange(n, dtype=np.int64) * 1_000_000
    values = series_signal(0, n, seed=3)
    pids = np.full(n, definition.pk, dtype=np.int32)
    started = time.perf_counter()
    end = SERIES_START + dt.timedelta(days=days)
    with connection.cursor() as cursor:
        for i in range(0, n, 500_000):
            archive.copy_rows(
                cursor, archive.TABLE, pids[i : i + 500_000], times[i : i + 500_000], values[i : i + 500_000]
            )
        cursor.execute(archive.ROLL_UP_SQL, [SERIES_START, end])
        cursor.execute(archive.HOUR_ROLL_UP_SQL, [SERIES_START, end])
    return n, time.perf_counter() - started


def seed_old_rollups(definition, days):
    """The `days` before SERIES_START as minute roll-ups only, as retention leaves them (a year of
    raw 1 Hz rows would take minutes to COPY and ~2 GB): each minute aggregated in numpy from the
    same 1 Hz signal, COPY'd into the minute roll-ups, then the hour roll-ups built from them as
    the Celery task does."""
    start = SERIES_START - dt.timedelta(days=days)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY telemetry_minute_rollup (parameter_id, bucket, min, max, avg, count, last) FROM STDIN"
        ) as copy:
            for d in range(days):
                day = start + dt.timedelta(days=d)
                first_s = int((day - SERIES_START).total_seconds())
                minutes = series_signal(first_s, 86_400, seed=10 + d).reshape(1440, 60)
                lows, highs, means, lasts = minutes.min(1), minutes.max(1), minutes.mean(1), minutes[:, -1]
                for m in range(1440):
                    bucket = day + dt.timedelta(minutes=m)
                    copy.write_row((definition.pk, bucket, lows[m], highs[m], means[m], 60, lasts[m]))
        cursor.execute(archive.HOUR_ROLL_UP_SQL, [start, SERIES_START])
    return days * 1440, time.perf_counter() - started


def drop_series(days, old_days):
    with connection.cursor() as cursor:
        for d in range(days):
            cursor.execute(f"DROP TABLE IF EXISTS {archive.partition_name(SERIES_START.date() + dt.timedelta(days=d))}")
        start, end = SERIES_START - dt.timedelta(days=old_days), SERIES_START + dt.timedelta(days=days)
        for table in ("telemetry_minute_rollup", "telemetry_hour_rollup", "telemetry_pending_rollup"):
            cursor.execute(f"DELETE FROM {table} WHERE bucket >= %s AND bucket < %s", [start, end])


RAW_PEER_SQL = (
    "SELECT date_bin(%s, time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, min(value), max(value), avg(value),"
    " count(*) FROM telemetry_sample WHERE parameter_id = %s AND time >= %s AND time < %s GROUP BY b ORDER BY b"
)
# What the selector read for long spans before the hour level: every minute roll-up of the range.
MINUTE_PEER_SQL = (
    "SELECT date_bin(%s, bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, min(min), max(max),"
    " sum(avg * count) / sum(count), sum(count) FROM telemetry_minute_rollup"
    " WHERE parameter_id = %s AND bucket >= %s AND bucket < %s GROUP BY b ORDER BY b"
)


def bench_series(port, key, definition, start, end, points, peer_sql, repeats=5):
    """Median ms of the series query (selector in process, and GET over HTTP), and of `peer_sql`
    computing the same buckets in one plain statement (raw rows, or minute roll-ups only)."""
    timings, http_timings, peer_timings = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        data = selectors.series(definition=definition, start=start, end=end, max_points=points)
        timings.append(time.perf_counter() - started)
    client = Client(port, key)
    path = (
        f"/api/v1/telemetry/series/?spacecraft={definition.spacecraft_id}&parameter={definition.name}"
        f"&start={start.isoformat().replace('+', '%2B')}&end={end.isoformat().replace('+', '%2B')}&max_points={points}"
    )
    for _ in range(repeats):
        started = time.perf_counter()
        status, _ = client.request("GET", path)
        http_timings.append(time.perf_counter() - started)
        assert status == 200, status
    with connection.cursor() as cursor:
        for _ in range(3):
            started = time.perf_counter()
            cursor.execute(peer_sql, [dt.timedelta(seconds=data["bucket_s"]), definition.pk, start, end])
            peer = cursor.fetchall()
            peer_timings.append(time.perf_counter() - started)
    # The selector's answer is the peer's, bucket for bucket (min / max exact, count-weighted avg).
    assert [(r[0], r[1], r[2], r[4]) for r in peer] == list(
        zip(data["t"], data["min"], data["max"], data["count"], strict=True)
    ), "selector and peer disagree"
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    return {
        "selector": ms(timings),
        "http": ms(http_timings),
        "peer": ms(peer_timings),
        "level": data["level"],
        "buckets": len(data["t"]),
    }


def delete_recent(crafts, since):
    """The HTTP and live rows write real-time samples for the bench's own parameters: delete them."""
    ids = list(ParameterDefinition.objects.filter(spacecraft__in=crafts).values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM telemetry_sample WHERE parameter_id = ANY(%s) AND time >= %s", [ids, since])
        cursor.execute(
            "DELETE FROM telemetry_minute_rollup WHERE parameter_id = ANY(%s) AND bucket >= %s", [ids, since]
        )


def end_to_end(args, org, crafts, service_rate):
    _, key = apikeys.create_api_key(organization=org, name="bench-ingest", scopes=["read", "ingest"])
    definition = ParameterDefinition.objects.get(spacecraft=crafts[0], name="p00")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1, minutes=1)
    daphne, port = start_daphne()
    rows = []
    try:
        small, small_peer = bench_fixed_cost(port, key, crafts[0], args.fixed_requests)
        rows.append(
            (
                f"HTTP ingest, 1 sample/request, 1 client ({args.fixed_requests} requests), p50 / p90",
                f"{small['p50']:,.1f} / {small['p90']:,.1f} ms",
                "GET /login/ (no database), 1 client",
                f"{small_peer['p50']:,.1f} / {small_peer['p90']:,.1f} ms",
            )
        )
        if args.fixed_cost_only:
            return rows
        http, peer, _ = bench_http(port, key, crafts, args.http_clients, args.http_seconds, args.http_batch)
        rows.append(
            (
                f"HTTP ingest, {args.http_clients} clients x {args.http_batch:,} samples/request",
                f"{http['samples_s']:,.0f} samples/s",
                "ingest service in process (table 1)",
                f"{service_rate:,.0f} samples/s",
            )
        )
        rows.append(
            (
                "  request latency p50 / p99",
                f"{http['p50']:,.0f} / {http['p99']:,.0f} ms",
                f"GET /login/ (no database), {args.http_clients} clients",
                f"{peer['p50']:,.1f} / {peer['p99']:,.1f} ms",
            )
        )
        rows.append(
            (
                "  requests/s (errors)",
                f"{http['requests_s']:,.0f} ({http['errors']})",
                "  requests/s (errors)",
                f"{peer['requests_s']:,.0f} ({peer['errors']})",
            )
        )
        live = asyncio.run(live_latency(port, key, crafts[0], args.live_rate, args.live_seconds, args.live_batch))
        rows.append(
            (
                f"ingest -> live socket at {args.live_rate:,} samples/s, p50 / p99",
                f"{live['p50']:,.0f} / {live['p99']:,.0f} ms",
                "channel-layer publish -> socket",
                f"{live['peer_p50']:,.1f} / {live['peer_p99']:,.1f} ms",
            )
        )
        rows.append(
            (
                f"  requests shown / sent (coalesced to {1000 * services.live.interval_s():.0f} ms windows)",
                f"{live['seen']} / {live['sent']}",
                "",
                "",
            )
        )
        seeded, seed_s = seed_series(definition, args.series_days)
        old_minutes, old_s = seed_old_rollups(definition, args.series_year_days - args.series_days)
        end = SERIES_START + dt.timedelta(days=args.series_days)
        points = args.series_points
        hour = bench_series(port, key, definition, end - dt.timedelta(hours=1), end, points, RAW_PEER_SQL)
        label = f"series, 1 hour of 1 Hz (3,600 rows), {points:,} points [{hour['level']}]"
        rows.append((label, f"{hour['selector']:,.1f} ms", "date_bin over the raw rows", f"{hour['peer']:,.1f} ms"))
        series = bench_series(port, key, definition, SERIES_START, end, points, RAW_PEER_SQL)
        label = f"series, {args.series_days} days of 1 Hz ({seeded:,} rows), {points:,} points [{series['level']}]"
        raw_label = "date_bin over the raw rows (no roll-ups)"
        rows.append((label, f"{series['selector']:,.1f} ms", raw_label, f"{series['peer']:,.0f} ms"))
        rows.append(("  the same over HTTP (GET /api/v1/telemetry/series/)", f"{series['http']:,.1f} ms", "", ""))
        year_start = end - dt.timedelta(days=args.series_year_days)
        year = bench_series(port, key, definition, year_start, end, points, MINUTE_PEER_SQL)
        label = (
            f"series, {args.series_year_days} days of 1 Hz (last {args.series_days} raw, older {old_minutes:,}"
            f" minutes seeded as roll-ups), {points:,} points [{year['level']}]"
        )
        rows.append(
            (label, f"{year['selector']:,.1f} ms", "date_bin over the minute roll-ups only", f"{year['peer']:,.0f} ms")
        )
        rows.append(("  the same over HTTP (GET /api/v1/telemetry/series/)", f"{year['http']:,.1f} ms", "", ""))
        # A late sample on day 3 through the ingest service: its minute is pending (not rolled up)
        # until the next roll-up, and only that minute may be read raw.
        late = SERIES_START + dt.timedelta(days=2, hours=5, minutes=7, seconds=30.5)
        services.ingest(
            snapshots=[
                {"spacecraft": crafts[0].designation, "timestamp": late.isoformat(), "parameters": {"p00": 5.0}}
            ],
            scope=services.organization_scope(org),
        )
        pending = bench_series(port, key, definition, SERIES_START, end, points, RAW_PEER_SQL)
        label = f"series, {args.series_days} days as above + 1 late sample on day 3, not rolled up [{pending['level']}]"
        rows.append((label, f"{pending['selector']:,.1f} ms", raw_label, f"{pending['peer']:,.0f} ms"))
        rows.append(("  seeding (sorted COPY + minute and hour roll-up)", f"{seeded / seed_s:,.0f} rows/s", "", ""))
        rows.append(
            ("  seeding old minute roll-ups (COPY + hour roll-up)", f"{old_minutes / old_s:,.0f} rows/s", "", "")
        )
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
        drop_series(args.series_days, args.series_year_days - args.series_days)
        delete_recent(crafts, since)
    return rows


# --- where a request's time goes (cProfile) ------------------------------------------------------

# Stage -> the functions whose cumulative time it is (qualified by file suffix and name).
PROFILE_STAGES = [
    ("database connect", [("django/db/backends/base/base.py", "connect")]),
    ("auth (API key -> organization, scopes)", [("missionops/authentication.py", "authenticate")]),
    ("parse (body -> snapshots)", [("telemetry/payloads.py", "decode")]),
    (
        "resolve spacecraft + definitions",
        [("telemetry/services.py", "_resolve_spacecraft"), ("telemetry/definitions.py", "definitions_for")],
    ),
    ("validation (per-sample checks)", [("telemetry/services.py", "_validated_chunks")]),
    ("COPY", [("telemetry/services.py", "_validate_and_copy")]),
    (
        "latest values + roll-up marks",
        [("telemetry/services.py", "_update_latest"), ("telemetry/archive.py", "mark_pending_minutes")],
    ),
    ("limit checks", [("anomalies/detection.py", "check_ingested")]),
    ("live push + rate counters", [("telemetry/live.py", "after_ingest")]),
    ("commit", [("django/db/backends/base/base.py", "commit")]),
    ("response (render)", [("rest_framework/response.py", "rendered_content")]),
]


def profile_requests(org, crafts, requests, samples):
    """Profile `requests` POSTs of `samples` samples each through Django's whole stack in this
    process (middleware, DRF auth, throttles, the view, the service, on_commit hooks), closing the
    database connection after each as the server's request_finished does. Returns rows of
    (stage, ms per request) from cProfile's cumulative times, plus the wall time per request."""
    import cProfile
    import pstats

    from django.db import connections
    from django.test import Client as DjangoClient

    _, key = apikeys.create_api_key(organization=org, name="bench-profile", scopes=["ingest"])
    client = DjangoClient(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_HOST="127.0.0.1")
    names = [f"p{i:02d}" for i in range(PARAMETERS)]
    per_request = max(1, samples // PARAMETERS)
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=40)

    def body(seq):
        return json.dumps(
            [
                {
                    "spacecraft": crafts[0].designation,
                    "timestamp": (t0 + dt.timedelta(microseconds=(seq * per_request + i))).isoformat(),
                    "parameters": {name: float(seq + i) for name in names},
                }
                for i in range(per_request)
            ]
        )

    bodies = [body(seq) for seq in range(2 * requests + 5)]
    for seq in range(5):  # warm-up: imports, caches
        assert client.post("/api/v1/telemetry/", bodies[seq], content_type="application/json").status_code == 200
        connections.close_all()
    profiler = cProfile.Profile()
    profiled = 0.0
    for seq in range(5, requests + 5):
        started = time.perf_counter()
        profiler.enable()
        connection.ensure_connection()  # what the first query of a request does
        response = client.post("/api/v1/telemetry/", bodies[seq], content_type="application/json")
        connections.close_all()
        profiler.disable()
        profiled += time.perf_counter() - started
        assert response.status_code == 200, response.content
    plain = []  # the same requests without the profiler
    for seq in range(requests + 5, 2 * requests + 5):
        started = time.perf_counter()
        assert client.post("/api/v1/telemetry/", bodies[seq], content_type="application/json").status_code == 200
        connections.close_all()
        plain.append(time.perf_counter() - started)
    stats = pstats.Stats(profiler).stats
    cumulative = {}
    for (filename, _, name), (_, _, _, ct, _) in stats.items():
        for stage, functions in PROFILE_STAGES:
            for suffix, fname in functions:
                if name == fname and filename.endswith(suffix):
                    cumulative[stage] = cumulative.get(stage, 0.0) + ct
    validation = cumulative.get("validation (per-sample checks)", 0.0)
    if "COPY" in cumulative:  # the COPY is fed by the validating generator: its own time excludes it
        cumulative["COPY"] -= validation
    rows = [(stage, 1000 * cumulative.get(stage, 0.0) / requests) for stage, _ in PROFILE_STAGES]
    profiled_ms = 1000 * profiled / requests
    rows.append(("everything else (Django, DRF, middleware, throttles)", profiled_ms - sum(ms for _, ms in rows)))
    return rows, profiled_ms, 1000 * statistics.median(plain)


def print_profile(rows, profiled_ms, plain_ms, requests, samples):
    print(
        f"where a {samples:,}-sample request's time goes: cProfile, {requests} requests through Django in process"
        f" (connection closed after each, as the server does); without the profiler {plain_ms:,.1f} ms p50"
    )
    print(f"{'stage':<56} {'ms/request':>10} {'share':>6}")
    for stage, ms in rows:
        print(f"{stage:<56} {ms:>10.2f} {100 * ms / profiled_ms:>5.0f}%")
    print(f"{'total (under the profiler)':<56} {profiled_ms:>10.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples per method (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=50_000, help="samples per ingest call / COPY (default 50,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the service and COPY rows (default 3)")
    parser.add_argument("--no-e2e", action="store_true", help="table 1 only (no daphne)")
    parser.add_argument("--http-clients", type=int, default=8, help="concurrent HTTP ingest clients (default 8)")
    parser.add_argument("--http-seconds", type=float, default=10, help="seconds of HTTP ingest (default 10)")
    parser.add_argument("--http-batch", type=int, default=1000, help="samples per HTTP request (default 1,000)")
    parser.add_argument("--fixed-requests", type=int, default=300, help="1-sample requests timed (default 300)")
    parser.add_argument(
        "--fixed-cost-only", action="store_true", help="only the 1-sample request row (no table 1, no other e2e rows)"
    )
    parser.add_argument("--live-rate", type=int, default=5000, help="samples/s for the live latency (default 5,000)")
    parser.add_argument("--live-seconds", type=float, default=10, help="seconds of live latency (default 10)")
    parser.add_argument("--live-batch", type=int, default=500, help="samples per request there (default 500)")
    parser.add_argument("--series-days", type=int, default=30, help="days of 1 Hz data to query (default 30)")
    parser.add_argument("--series-year-days", type=int, default=365, help="days of the long series query (default 365)")
    parser.add_argument("--series-points", type=int, default=1000, help="max_points of the query (default 1,000)")
    parser.add_argument("--profile", action="store_true", help="only the profile of 1,000-sample requests (cProfile)")
    parser.add_argument("--profile-requests", type=int, default=50, help="requests profiled (default 50)")
    args = parser.parse_args()
    per_snapshot = SPACECRAFT * PARAMETERS
    n_snapshots = max(1, args.samples // per_snapshot)
    org, crafts = fleet()
    if args.profile:
        try:
            print_profile(*profile_requests(org, crafts, args.profile_requests, 1000), args.profile_requests, 1000)
        finally:
            drop_days()
            delete_recent(crafts, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        return
    if args.fixed_cost_only:
        try:
            print_end_to_end(end_to_end(args, org, crafts, service_rate=None))
        finally:
            drop_days()  # fleet()'s registering sample
        return
    drop_days()
    try:
        # The service and COPY rows run `--repeats` times, alternating which goes first, each time
        # into fresh partitions, and keep their best: on a shared 2-core machine a neighbour's
        # burst otherwise lands on one row and not the other. bulk_create (~25 s) runs once.
        runs = {
            SERVICE: lambda: bench_service(org, crafts, n_snapshots, max(1, args.batch // PARAMETERS)),
            COPY: lambda: bench_copy(crafts, n_snapshots, args.batch),
        }
        results = {SERVICE: None, BULK: None, COPY: None}
        for r in range(args.repeats):
            drop_days()
            for name in runs if r % 2 == 0 else reversed(runs):
                rows, seconds = runs[name]()
                if results[name] is None or seconds < results[name][1]:
                    results[name] = (rows, seconds)
        results[BULK] = bench_bulk_create(crafts, n_snapshots, 5000)
    finally:
        drop_days()
    bulk, copy = results[BULK], results[COPY]
    bulk_rate, copy_rate = bulk[0] / bulk[1], copy[0] / copy[1]
    print(
        f"telemetry ingest, {n_snapshots * per_snapshot:,} samples ({SPACECRAFT} spacecraft x {PARAMETERS} parameters),"
        f" batches of {args.batch:,}, PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPUs,"
        f" service and COPY best of {args.repeats} (alternating)"
    )
    print(f"{'method':<54} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'x bulk':>7} {'% COPY':>7}")
    for name, (rows, seconds) in results.items():
        rate = rows / seconds
        ratios = f"{rate / bulk_rate:>7.1f} {100 * rate / copy_rate:>6.0f}%"
        print(f"{name:<54} {rows:>10,} {seconds:>8.2f} {rate:>10,.0f} {ratios}")
    if args.no_e2e:
        return
    service = results[SERVICE]
    print()
    print_end_to_end(end_to_end(args, org, crafts, service[0] / service[1]))


def print_end_to_end(rows):
    print(f"end to end, one daphne on 127.0.0.1 started by this script (same run), {os.cpu_count()} CPUs")
    rows.insert(0, ("measure", "value", "peer / baseline", "value"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
