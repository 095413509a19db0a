"""Job queue throughput, one table: no-op jobs claimed and completed per second by N real
`job_worker` processes using SKIP LOCKED (one claim per transaction, and batched) against the
same workers using plain SELECT … FOR UPDATE (the serializing peer), with double claims counted;
the same comparison for the ideal queue (two statements a job sent by pgbench's C clients, no
application), with commits flushed and not; one worker alone (what bounds the ratio on this host);
then tile jobs per minute on the CPU (NumPy; CuPy where a GPU is lent).

    .venv/bin/python bench/jobs.py                      # defaults: 4 workers, 2000 no-op jobs, 3 runs, 8 tiles
    .venv/bin/python bench/jobs.py --jobs 500 --repeat 1 --tiles 0  # quick

Runs against its own database (BENCH_DATABASE_URL, default .../missionops_bench_jobs), migrated
on first use; it never touches the development or test databases."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/missionops_bench_jobs")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")
os.environ.setdefault("CHANNELS_PREFIX", "missionops-bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ)


def start_workers(count: int, *extra: str, live: bool = True) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "missionops.settings" if live else "bench.jobs_settings",
        "PGAPPNAME": "job_worker-bench",  # libpq's: lets WaitSampler tell the workers' backends
    }
    return [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "job_worker",
                "--host",
                f"bench-{i}",
                "--poll-s",
                "0.02",
                "--sample-s",
                "0",
                "--sweep-s",
                "0",
                "--heartbeat-s",
                "5",
                "--lease-s",
                "120",
                "-v",
                "0",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i in range(count)
    ]


def stop(workers):
    for proc in workers:
        proc.terminate()
    for proc in workers:
        proc.wait(timeout=30)


def reset(org):
    from django.db import connection

    from jobs.services import set_quota

    set_quota(organization=org, max_concurrent_jobs=1_000, max_queued_jobs=1_000_000, daily_gpu_seconds=1e9)
    # Every round starts from new, empty tables, as in a fresh database. Deleting rows instead
    # leaves each round to walk the dead ones of the rounds before (autovacuum may be off on the
    # host), and a VACUUM after it leaves indexes whose statistics say empty at full size, which
    # misleads the planner; both made rounds vary two- to three-fold.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_job, jobs_usageday RESTART IDENTITY CASCADE")
        cursor.execute("UPDATE jobs_runslot SET job_id = NULL WHERE job_id IS NOT NULL")


# The job workers' Postgres backends (workers set PGAPPNAME, see start_workers).
WORKER_BACKENDS = "datname = current_database() AND application_name LIKE 'job_worker%%'"


class WaitSampler:
    """What the workers' Postgres backends are doing, sampled from pg_stat_activity every few ms
    while a round runs: mean backends on CPU, waiting for the WAL flush of a commit, or waiting for
    a row lock another transaction holds (where FOR UPDATE serializes)."""

    GROUPS = {"cpu": "CPU", "wal": ("LWLock:WALWrite", "IO:WALSync", "IO:WALWrite"), "lock": ("Lock:",)}

    def __init__(self):
        import threading

        self.counts, self.samples = {"cpu": 0, "wal": 0, "lock": 0, "other": 0}, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            query = f"""SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
                        WHERE {WORKER_BACKENDS} AND state = 'active' AND backend_type = 'client backend'"""
            while not self.stop.is_set():
                for (event,) in conn.execute(query):
                    self.counts[self._group(event)] += 1
                self.samples += 1
                time.sleep(0.02)  # sparse: the sampler's own queries take CPU from the round

    def _group(self, event: str) -> str:
        if event == "CPU":
            return "cpu"
        if event in self.GROUPS["wal"]:
            return "wal"
        return "lock" if event.startswith("Lock:") else "other"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def mean(self, group: str) -> float:
        return self.counts[group] / max(1, self.samples)


def worker_backend_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pid FROM pg_stat_activity WHERE {WORKER_BACKENDS}")
        return [pid for (pid,) in cursor.fetchall()]


def wait_for_workers(count: int, timeout_s: float = 60) -> None:
    """Until every worker is connected and polling, then a moment more: the clock starts with all
    of them ready (a slow start would otherwise count against the rate)."""
    deadline = time.monotonic() + timeout_s
    while len(worker_backend_pids()) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the {count} workers did not all connect within {timeout_s:g} s")
        time.sleep(0.1)
    time.sleep(1)


class CpuMeter:
    """CPU seconds spent during a round: the whole host (/proc/stat, all CPUs), the worker processes, and
    their Postgres backends (found by application name), so a rate can be read against where the
    CPUs went. Linux only; a process that cannot be read counts zero."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, workers):
        self.workers = [proc.pid for proc in workers]
        self.backends = worker_backend_pids()
        self.start = (self._process_s(self.workers), self._process_s(self.backends), *self._host())

    def _process_s(self, pids) -> float:
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (threads included)
            except (OSError, IndexError, ValueError):
                pass
        return total / self.TICK

    def _host(self) -> tuple[float, float]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values) - idle) / self.TICK, sum(values) / self.TICK

    def stop(self) -> tuple[float, float, float]:
        """Since the start: the host's busy share, the workers' and their backends' CPU seconds."""
        workers, backends, busy, total = (self._process_s(self.workers), self._process_s(self.backends), *self._host())
        host = (busy - self.start[2]) / max(1e-9, total - self.start[3])
        return host, workers - self.start[0], backends - self.start[1]


def run_round(org, *, kind, count, workers, worker_args, params=None, footprint=None, live=True):
    """Workers wait idle; the jobs appear in one commit; the clock runs until the last finishes."""
    from django.db.models import Count

    from jobs.models import Job, JobLog, JobState
    from jobs.services import submit_jobs

    reset(org)
    procs = start_workers(workers, *worker_args, live=live)
    wait_for_workers(workers)
    spec = {"kind": kind, "params": params or {}, "footprint": footprint}
    from django.db import transaction

    with transaction.atomic():
        for start in range(0, count, 1000):
            submit_jobs(organization=org, actor=None, specs=[spec] * min(1000, count - start), event=False)
    started = time.perf_counter()
    deadline = started + 600
    try:
        cpu = CpuMeter(procs)
        with WaitSampler() as waits:
            while time.perf_counter() < deadline:
                done = Job.objects.filter(state__in=[JobState.SUCCEEDED, JobState.FAILED]).count()
                if done >= count:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            host, workers_s, backends_s = cpu.stop()
    finally:
        stop(procs)
    claims = JobLog.objects.filter(message__startswith="attempt ").values("job").annotate(n=Count("id"))
    double = sum(1 for row in claims if row["n"] > 1)
    succeeded = Job.objects.filter(state=JobState.SUCCEEDED).count()
    waiting = {group: waits.mean(group) for group in ("cpu", "wal", "lock")}
    per_job_ms = 1000 / max(1, succeeded)
    used = {"host": host, "worker_ms": workers_s * per_job_ms, "backend_ms": backends_s * per_job_ms}
    return {"elapsed_s": elapsed, "succeeded": succeeded, "double": double, "waits": waiting, "cpu": used}


# The ideal queue: a job is two statements, claim and complete, and nothing else (no run slots,
# GPU slots, logs, usage or live pushes), sent by pgbench's C clients. What it gains over its own
# FOR UPDATE peer is what this host lets SKIP LOCKED gain, whatever the application does.
IDEAL_TABLE = "bench_ideal_queue"
IDEAL_SCRIPT = (
    f"UPDATE {IDEAL_TABLE} SET state = 'running', claims = claims + 1 WHERE id = (SELECT id FROM {IDEAL_TABLE}"
    " WHERE state = 'queued' ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE{skip}) RETURNING id AS job_id"
    " \\gset\n"
    f"UPDATE {IDEAL_TABLE} SET state = 'done' WHERE id = :job_id;\n"
)


def reset_ideal_queue(count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {IDEAL_TABLE} (
                    id bigserial PRIMARY KEY, state text NOT NULL, claims int NOT NULL DEFAULT 0,
                    priority int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT clock_timestamp())"""
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {IDEAL_TABLE}_queued ON {IDEAL_TABLE} (priority DESC, created_at, id)"
            " WHERE state = 'queued'"
        )
        cursor.execute(f"TRUNCATE {IDEAL_TABLE} RESTART IDENTITY")
        cursor.execute(f"INSERT INTO {IDEAL_TABLE} (state) SELECT 'queued' FROM generate_series(1, %s)", [count])
        cursor.execute(f"VACUUM ANALYZE {IDEAL_TABLE}")


def run_ideal_round(*, clients: int, count: int, skip_locked: bool, flush: bool) -> dict:
    """`count` jobs (rounded to a multiple of `clients`) claimed and completed by pgbench's
    clients; the rate is pgbench's own, without its connection time. Its backends are gone when it
    ends, so only the client's CPU is counted (as the workers'), and the host's busy share."""
    from django.db import connection

    per_client = max(1, count // clients)
    reset_ideal_queue(per_client * clients)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(IDEAL_SCRIPT.format(skip=" SKIP LOCKED" if skip_locked else ""))
        script.flush()
        env = {**os.environ, "PGAPPNAME": "job_worker-pgbench"}  # WaitSampler samples its backends
        if not flush:
            env["PGOPTIONS"] = "-c synchronous_commit=off"
        host = CpuMeter([])
        client_start = sum(os.times()[2:4])
        with WaitSampler() as waits:
            out = subprocess.run(
                ["pgbench", "-n", "-c", str(clients), "-j", str(clients), "-t", str(per_client), "-f", script.name,
                 DATABASE_URL],
                capture_output=True, text=True, env=env,
            )  # fmt: skip
        busy, _, _ = host.stop()
        client_s = sum(os.times()[2:4]) - client_start
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
    if out.returncode or not tps:
        raise SystemExit(f"pgbench failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE claims > 1) FROM {IDEAL_TABLE}"
        )
        done, double = cursor.fetchone()
    waiting = {group: waits.mean(group) for group in ("cpu", "wal", "lock")}
    used = {"host": busy, "worker_ms": 1000 * client_s / max(1, done), "backend_ms": None}
    return {"elapsed_s": done / float(tps.group(1)), "succeeded": done, "double": double, "waits": waiting, "cpu": used}


@dataclass(frozen=True)
class Round:
    label: str
    worker_args: tuple = ()
    live: bool = True
    workers: int | None = None  # None: --workers
    peer_of: str | None = None  # the SKIP LOCKED round this peer runs right after
    ideal: dict | None = None  # pgbench's ideal queue: run_ideal_round's skip_locked and flush


@dataclass
class Row:
    label: str
    workers: int
    jobs: int
    done: int
    double: int
    seconds: float
    rate: float
    unit: str
    waits: dict | None = None
    cpu: dict | None = None
    ratios: list | None = None  # against the peer, one per run, sorted


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda run: run["rate"])[len(runs) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs per round")
    parser.add_argument("--batch", type=int, default=50, help="claims per transaction in the batched round")
    parser.add_argument("--ideal-jobs", type=int, default=20000, help="jobs per ideal-queue round (0: skip them)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every no-op round; the table gives the median")
    parser.add_argument("--tiles", type=int, default=8, help="tile jobs (0: skip)")
    parser.add_argument("--tile-px", type=int, default=512)
    parser.add_argument("--tile-workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.conf import settings

    # The bench process only submits: its own live pushes (sent at commit) would overlap the clock.
    settings.JOBS_LIVE_PUBLISH = False
    from missionops.models import Organization
    from missionops.services import create_organization

    org = Organization.objects.filter(slug="bench").first() or create_organization(name="bench")
    # Pairs: each SKIP LOCKED round is followed by its peer, the same workers with plain FOR UPDATE.
    # Last, one worker alone: what the peer can never fall below (one claimer at a time still works
    # at one worker's pace), and how much of the host one worker already keeps busy.
    batch, peer = ("--batch", str(args.batch)), ("--no-skip-locked",)
    single, batched, quiet = (
        "SKIP LOCKED, 1 claim/stmt",
        f"SKIP LOCKED, {args.batch} claims/stmt",
        "SKIP LOCKED, 1/stmt, no live push",
    )
    rounds = [
        Round(single),
        Round("peer: FOR UPDATE, 1 claim/stmt", peer, peer_of=single),
        Round(batched, batch),
        Round(f"peer: FOR UPDATE, {args.batch} claims/stmt", (*batch, *peer), peer_of=batched),
        Round(quiet, live=False),
        Round("peer: FOR UPDATE, 1/stmt, no live push", peer, live=False, peer_of=quiet),
    ]
    if args.ideal_jobs and shutil.which("pgbench"):
        ideal, ideal_unflushed = IDEAL_SKIP, "ideal queue (pgbench), commits unflushed"
        rounds += [
            Round(ideal, ideal={"skip_locked": True, "flush": True}),
            Round(IDEAL_PEER, ideal={"skip_locked": False, "flush": True}, peer_of=ideal),
            Round(ideal_unflushed, ideal={"skip_locked": True, "flush": False}),
            Round("ideal peer: FOR UPDATE, commits unflushed", ideal={"skip_locked": False, "flush": False},
                  peer_of=ideal_unflushed),
        ]  # fmt: skip
    elif args.ideal_jobs:
        print("pgbench is not on PATH: the ideal-queue rounds are left out", file=sys.stderr)
    rounds.append(Round(ALONE, workers=1))
    # Each pair runs back to back; the whole list `--repeat` times, so one slow moment on the
    # host lands in one repetition, and the table gives the median.
    runs = {r.label: [] for r in rounds}
    for repetition in range(args.repeat):
        for r in rounds:
            workers = r.workers or args.workers
            if r.ideal:
                result = run_ideal_round(clients=workers, count=args.ideal_jobs, **r.ideal)
            else:
                result = run_round(
                    org, kind="noop", count=args.jobs, workers=workers, worker_args=r.worker_args, live=r.live
                )
            result["rate"] = result["succeeded"] / result["elapsed_s"]
            runs[r.label].append(result)
            print(f"  run {repetition + 1}/{args.repeat} {r.label}: {result['rate']:.1f} jobs/s", file=sys.stderr)
    peers = {r.peer_of: r.label for r in rounds if r.peer_of}
    rows = []
    for r in rounds:
        m = median_run(runs[r.label])
        ratios = None
        if r.label in peers:  # against the peer round right after it, run by run
            pairs = zip(runs[r.label], runs[peers[r.label]], strict=True)
            ratios = sorted(mine["rate"] / other["rate"] for mine, other in pairs)
        double = sum(run["double"] for run in runs[r.label])
        rows.append(
            Row(r.label, r.workers or args.workers, args.ideal_jobs if r.ideal else args.jobs, m["succeeded"], double,
                m["elapsed_s"], m["rate"], "jobs/s", m["waits"], m["cpu"], ratios)
        )  # fmt: skip
    if args.tiles:
        square = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}
        m = run_round(
            org, kind="tile", count=args.tiles, workers=args.tile_workers, worker_args=(),
            params={"size_px": args.tile_px}, footprint=square,
        )  # fmt: skip
        from jobs.models import Job

        backend = (Job.objects.filter(state="succeeded").values_list("result__backend", flat=True).first()) or "?"
        rows.append(
            Row(f"tile {args.tile_px}px ({backend})", args.tile_workers, args.tiles, m["succeeded"], m["double"],
                m["elapsed_s"], 60 * m["succeeded"] / m["elapsed_s"], "jobs/min", m["waits"], m["cpu"])
        )  # fmt: skip
    print_table(rows, args)
    ideal = next((row for row in rows if row.label == IDEAL_SKIP), None)
    print_bound(median_run(runs[ALONE]), median_run(runs[rounds[1].label]), args.workers, ideal)
    if args.json:
        summary = {
            row.label: {
                "rate": round(row.rate, 1),
                "unit": row.unit,
                "vs_peer": round(row.ratios[len(row.ratios) // 2], 3) if row.ratios else None,
                "double_claims": row.double,
            }
            for row in rows
        }
        print(json.dumps(summary))


IDEAL_SKIP, IDEAL_PEER = "ideal queue (pgbench), SKIP LOCKED", "ideal peer: FOR UPDATE"
ALONE = "reference: 1 worker alone, SKIP LOCKED"


def print_table(rows: list[Row], args) -> None:
    print(f"\njob queue bench · {os.cpu_count()} CPUs · database {DATABASE_URL.rsplit('/', 1)[1]}")
    columns = ("workers", "jobs", "done", "double")
    header = (
        f"{'round':40} " + " ".join(f"{c:>7}" for c in columns) + f" {'seconds':>8} {'rate':>10} {'':8}"
        f" {'vs peer':>7} {'range':>11}   backends: cpu  wal lock   host busy  CPU ms/job: worker backend"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratios = row.ratios
        ratio = f"{ratios[len(ratios) // 2]:6.2f}x" if ratios else ""
        spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}x" if ratios and len(ratios) > 1 else ""
        waits, used = row.waits, row.cpu
        backends = f"{waits['cpu']:4.2f} {waits['wal']:4.2f} {waits['lock']:4.2f}"
        backend_ms = "-" if used["backend_ms"] is None else f"{used['backend_ms']:.2f}"
        backends += f"   {100 * used['host']:8.0f}%   {used['worker_ms']:17.2f} {backend_ms:>7}"
        print(
            f"{row.label:40} {row.workers:>7} {row.jobs:>7} {row.done:>7} {row.double:>7} {row.seconds:>8.2f}"
            f" {row.rate:>10.1f} {row.unit:8} {ratio:>7} {spread:>11}             {backends}"
        )
    print(
        f"no-op rounds: the median of {args.repeat} runs (vs peer: the median ratio of each run to the peer run after"
        " it, range: all of them); double: double claims over all runs"
    )
    print(
        "backends: mean workers' Postgres backends on CPU, waiting for a commit's WAL flush, and waiting for a row lock"
    )
    print(
        "host busy: the host's CPUs' busy share during the round; CPU ms/job: the worker processes' and their Postgres"
        " backends' CPU per finished job"
    )
    print(
        "ideal queue: a job is two statements (claim, complete) sent by pgbench's C clients, nothing else; its worker"
        " CPU is pgbench's; unflushed: synchronous_commit off, so no commit waits for its WAL flush"
    )


def print_bound(alone: dict, peer: dict, workers: int, ideal: Row | None) -> None:
    """What the one-worker round says about the best ratio this host allows, as an estimate: N
    workers cannot beat one by more than the host's CPUs over the share one worker keeps busy (that
    share includes the bench's own polling and Redis, so the estimate leans low), and the peer,
    serialized, runs at about one worker's pace (measured here, not assumed)."""
    cpus = os.cpu_count() or 1
    scaling = min(workers, 1 / max(alone["cpu"]["host"], 1e-9))
    print(
        f"bound (estimate): one worker alone did {alone['rate']:.1f} jobs/s keeping {100 * alone['cpu']['host']:.0f}%"
        f" of the {cpus} CPUs busy, so {workers} workers can do about {scaling:.2f}x that"
        f" ({scaling * alone['rate']:.0f} jobs/s) at best; the peer did {peer['rate']:.1f} jobs/s"
        f" ({peer['rate'] / alone['rate']:.2f}x one worker), so SKIP LOCKED can beat it by about"
        f" {scaling * alone['rate'] / peer['rate']:.2f}x at best here"
    )
    if ideal and ideal.ratios:
        print(
            f"bound (measured): the ideal queue, with no application at all, did {ideal.rate:.1f} jobs/s with SKIP"
            f" LOCKED, {ideal.ratios[len(ideal.ratios) // 2]:.2f}x its FOR UPDATE peer on the same {workers} clients"
        )


if __name__ == "__main__":
    main()
