"""Mixed load on loopback, against a real daphne this script starts: telemetry ingest at a fixed
rate (HTTP), N live sockets subscribed to the fleet, and API reads, all at once.

    .venv/bin/python bench/load.py                       # 15 minutes, 200 sockets, 500 samples/s
    .venv/bin/python bench/load.py --duration 60         # the README figure
    .venv/bin/python bench/load.py --restarts             # 15 minutes through a PostgreSQL and a Redis
                                                          # restart, on private instances (bench/restarts.py)

Uses DATABASE_URL / REDIS_URL (organization "bench-load", created if missing). Reports throughput,
latency p50/p99 and errors per workload, and checks stored == acknowledged samples at the end.
The peer row is the same HTTP loop against `/login/` (a page that touches no database): the cost
of the framework and server alone, so the API rows show what MissionOps adds.
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--restarts" in sys.argv:  # its own private servers, configured before Django is
    from bench.restarts import main as restarts_main

    sys.exit(restarts_main(sys.argv[1:]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.db import connection  # noqa: E402

from bench.server import start_daphne  # noqa: E402
from missionops.models import Organization  # noqa: E402
from missionops.services import apikeys, create_organization  # noqa: E402
from spacecraft.services import create_spacecraft  # noqa: E402


def setup():
    org = Organization.objects.filter(slug="bench-load").first() or create_organization(
        name="Bench load", slug="bench-load"
    )
    sc = org.spacecraft.filter(designation="LOAD-1").first() or create_spacecraft(
        organization=org, designation="LOAD-1", name="Load 1", mission_type="CUBESAT", parameters={}
    )
    _, key = apikeys.create_api_key(organization=org, name="bench", scopes=["read", "ingest", "operate"])
    return sc, key


class Recorder:
    def __init__(self):
        self.latencies, self.errors, self.count, self.lock = [], 0, 0, threading.Lock()

    def add(self, seconds, ok):
        with self.lock:
            self.count += 1
            if ok:
                self.latencies.append(seconds)
            else:
                self.errors += 1

    def row(self, name, duration, unit="req"):
        lat = sorted(self.latencies) or [0]
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        return (name, f"{self.count / duration:,.0f} {unit}/s", f"{p(0.5):.1f}", f"{p(0.99):.1f}", str(self.errors))


def request(base, path, key, body=None):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


def ingest_loop(base, key, rate, batch, stop, rec, acked, t0, lane=0, lanes=1):
    interval, sent, n = batch / rate, 0, 0
    next_at = time.monotonic()
    while not stop.is_set():
        snapshots = [
            {
                "spacecraft": "LOAD-1",
                # lanes interleave on one millisecond grid: no two clients send the same sample
                "timestamp": (t0 + timedelta(milliseconds=(sent + i) * lanes + lane)).isoformat(),
                "parameters": {"load_counter": float(sent + i)},
            }
            for i in range(batch)
        ]
        started = time.monotonic()
        try:
            status, body = request(base, "/api/v1/telemetry/", key, snapshots)
            ok = status in (200, 201)
            if ok:
                with rec.lock:
                    acked[0] += body["stored"]
                sent += batch
        except (urllib.error.URLError, OSError):
            ok = False
        rec.add(time.monotonic() - started, ok)
        n += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def read_loop(base, key, paths, stop, rec):
    i = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, _ = request(base, paths[i % len(paths)], key)
            ok = status == 200
        except (urllib.error.URLError, OSError, json.JSONDecodeError):
            ok = False
        rec.add(time.monotonic() - started, ok)
        i += 1


def peer_loop(base, stop, rec):
    while not stop.is_set():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/login/", timeout=30) as response:
                ok = response.status == 200
                response.read()
        except (urllib.error.URLError, OSError):
            ok = False
        rec.add(time.monotonic() - started, ok)


async def sockets(base, key, sc_id, count, stop_at, stats):
    url = base.replace("http://", "ws://") + f"/ws/live/?token={key}"

    async def one(index):
        await asyncio.sleep(index * 0.02)  # open 50 per second, as browsers arriving would
        try:
            async with websockets.connect(url, open_timeout=30) as ws:
                stats["connected"] += 1
                await ws.send(json.dumps({"action": "subscribe", "topics": ["fleet", f"sc.{sc_id}"]}))
                while time.monotonic() < stop_at:
                    try:
                        message = await asyncio.wait_for(ws.recv(), timeout=max(0.1, stop_at - time.monotonic()))
                    except TimeoutError:
                        break
                    if '"type": "message"' in message:
                        stats["messages"] += 1
        except (OSError, websockets.WebSocketException) as error:
            stats["errors"] += 1
            stats["last_error"] = repr(error)[:200]

    await asyncio.gather(*(one(i) for i in range(count)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=900, help="seconds (default 900 = 15 min)")
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--rate", type=float, default=500, help="samples/s ingested over HTTP")
    parser.add_argument("--batch", type=int, default=50, help="samples per ingest request")
    parser.add_argument("--readers", type=int, default=2, help="concurrent API read loops")
    parser.add_argument("--ingest-clients", type=int, default=4, help="concurrent ingest clients sharing the rate")
    args = parser.parse_args()

    sc, key = setup()
    daphne, port = start_daphne()
    base = f"http://127.0.0.1:{port}"
    # Recent enough to be each parameter's latest value, so ingest drives live pushes to the sockets.
    t0 = datetime.now(UTC).replace(microsecond=0)
    stop = threading.Event()
    ingest_rec, read_rec, peer_rec, acked = Recorder(), Recorder(), Recorder(), [0]
    socket_stats = {"connected": 0, "messages": 0, "errors": 0}
    reads = [
        f"/api/v1/spacecraft/{sc.pk}/",
        "/api/v1/spacecraft/",
        f"/api/v1/telemetry/latest/?spacecraft={sc.pk}",
        "/api/v1/events/?page_size=20",
    ]
    per_client = args.rate / args.ingest_clients
    threads = [
        threading.Thread(
            target=ingest_loop,
            args=(base, key, per_client, args.batch, stop, ingest_rec, acked, t0, lane, args.ingest_clients),
        )
        for lane in range(args.ingest_clients)
    ]
    threads += [
        threading.Thread(target=read_loop, args=(base, key, reads, stop, read_rec)) for _ in range(args.readers)
    ]
    threads += [threading.Thread(target=peer_loop, args=(base, stop, peer_rec))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    asyncio.run(sockets(base, key, sc.pk, args.sockets, started + args.duration, socket_stats))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    daphne.terminate()
    daphne.wait(timeout=10)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM telemetry_sample s JOIN telemetry_parameterdefinition d ON d.id = s.parameter_id "
            "WHERE d.spacecraft_id = %s AND d.name = 'load_counter' AND s.time >= %s AND s.time < %s",
            [sc.pk, t0, t0 + timedelta(milliseconds=args.ingest_clients * (acked[0] + 10 * args.batch))],
        )
        stored = cursor.fetchone()[0]

    rows = [
        ("workload", "throughput", "p50 ms", "p99 ms", "errors"),
        ingest_rec.row(f"ingest (HTTP, {args.batch}/request)", elapsed),
        (
            "  samples acknowledged / stored",
            f"{acked[0]:,} / {stored:,}",
            "",
            "",
            "OK" if acked[0] == stored else "MISMATCH",
        ),
        read_rec.row(f"API reads ({args.readers} loops)", elapsed),
        peer_rec.row("peer: static /login/ page", elapsed),
        (
            f"live sockets ({socket_stats['connected']}/{args.sockets} connected)",
            f"{socket_stats['messages'] / elapsed:,.0f} msg/s",
            "",
            "",
            str(socket_stats["errors"]),
        ),
    ]
    if socket_stats.get("last_error"):
        print(f"last socket error: {socket_stats['last_error']}")
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print(f"bench/load.py: {elapsed:.0f} s on {os.cpu_count()} cores, target {args.rate:.0f} samples/s")
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    if args.json:
        summary = {
            "duration_s": round(elapsed, 1),
            "samples_acknowledged": acked[0],
            "samples_stored": stored,
            "lost": acked[0] - stored,
            "sockets_connected": socket_stats["connected"],
            "socket_messages_per_s": round(socket_stats["messages"] / elapsed, 1),
            "socket_errors": socket_stats["errors"],
        }
        print(json.dumps(summary))
    return 0 if acked[0] == stored else 1


if __name__ == "__main__":
    sys.exit(main())
