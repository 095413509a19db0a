"""Telemetry ingest throughput: the ingest service vs Django bulk_create vs raw binary COPY, all into
the same partitioned archive table (with its primary-key index), each into a fresh day partition.

    .venv/bin/python bench/ingest.py --samples 1000000      # the figure in README
    .venv/bin/python bench/ingest.py --samples 200000       # quicker

Uses DATABASE_URL (a throwaway organization "bench-telemetry"; its partitions are dropped after).
Prints one table; all rows come from the same run.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402

from missionops.models import Organization  # noqa: E402
from missionops.services import create_organization  # noqa: E402
from spacecraft.services import create_spacecraft  # noqa: E402
from telemetry import archive, services  # noqa: E402
from telemetry.models import ParameterDefinition, Sample  # noqa: E402

SPACECRAFT, PARAMETERS = 4, 20
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples per method (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=50_000, help="samples per ingest call / COPY (default 50,000)")
    args = parser.parse_args()
    per_snapshot = SPACECRAFT * PARAMETERS
    n_snapshots = max(1, args.samples // per_snapshot)
    org, crafts = fleet()
    drop_days()
    try:
        results = {
            "ingest service (validate, COPY staging, ON CONFLICT)": bench_service(
                org, crafts, n_snapshots, max(1, args.batch // PARAMETERS)
            ),
            "Django bulk_create": bench_bulk_create(crafts, n_snapshots, 5000),
            "raw binary COPY (unsorted)": bench_copy(crafts, n_snapshots, args.batch),
        }
    finally:
        drop_days()
    bulk = results["Django bulk_create"]
    copy = results["raw binary COPY (unsorted)"]
    bulk_rate, copy_rate = bulk[0] / bulk[1], copy[0] / copy[1]
    print(
        f"telemetry ingest, {n_snapshots * per_snapshot:,} samples ({SPACECRAFT} spacecraft x {PARAMETERS} parameters),"
        f" batches of {args.batch:,}, PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPUs"
    )
    print(f"{'method':<54} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'x bulk':>7} {'% COPY':>7}")
    for name, (rows, seconds) in results.items():
        rate = rows / seconds
        ratios = f"{rate / bulk_rate:>7.1f} {100 * rate / copy_rate:>6.0f}%"
        print(f"{name:<54} {rows:>10,} {seconds:>8.2f} {rate:>10,.0f} {ratios}")


if __name__ == "__main__":
    main()
