"""Mixed load through a PostgreSQL restart and a Redis restart (`bench/load.py --restarts`).

Everything runs on PRIVATE instances this script starts and removes (a PostgreSQL cluster made
with pg_createcluster on a free port, a redis-server on a free port): never the shared ones.
Processes: daphne, a Celery worker, Celery beat (the webhook reconciliation sweep), a job worker,
each under the same restart policy as `make run` would give it (none needed here: the point is
that they survive by themselves, and the script reports any that exited). Load, all at once:
telemetry ingest (HTTP batches), job submissions (each job's `job.submitted` event goes to a
webhook on a local receiver), API reads. Then it checks: samples accepted = stored, webhook
deliveries made = delivered (each Idempotency-Key processed once), jobs submitted = finished, each
run once; and prints how long each process took to work again after each restart.

    .venv/bin/python bench/load.py --restarts                  # 15 minutes
    .venv/bin/python bench/load.py --restarts --duration 120   # a short check
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing on port {port}")


class Postgres:
    def __init__(self):
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]
        self.name, self.port = f"loadbench{os.getpid()}", free_port()
        subprocess.run(
            ["pg_createcluster", self.version, self.name, "--port", str(self.port), "--"]
            + ["--auth-local=trust", "--auth-host=trust"],
            check=True,
            capture_output=True,
        )
        self.ctl("start")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/loadbench"

    def ctl(self, action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, "-m", "fast"]
            if action == "stop"
            else ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action],
            check=True,
            capture_output=True,
        )

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)

    def query(self, sql: str, params=()):
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/loadbench", connect_timeout=3) as db:
            return db.execute(sql, params).fetchall()


class Redis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Receiver:
    """A webhook endpoint: processes each Idempotency-Key once, counts repeats."""

    def __init__(self):
        self.keys, self.posts, self.repeats, self.lock = set(), 0, 0, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.posts += 1
                    key = self.headers.get("Idempotency-Key")
                    if key in receiver.keys:
                        receiver.repeats += 1
                    receiver.keys.add(key)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def call(base, path, key, body=None, timeout=10):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:
        return 0, None


class Loop(threading.Thread):
    """Calls `step()` every `period_s`; records (monotonic time, ok) of each call."""

    def __init__(self, name, period_s, step):
        super().__init__(daemon=True, name=name)
        self.period_s, self.step, self.running = period_s, step, True
        self.results: list[tuple[float, bool]] = []

    def run(self):
        while self.running:
            started = time.monotonic()
            self.results.append((started, bool(self.step())))
            time.sleep(max(0.0, self.period_s - (time.monotonic() - started)))

    def first_ok_after(self, moment: float) -> float | None:
        return next((t - moment for t, ok in self.results if t >= moment and ok), None)

    def errors(self) -> int:
        return sum(1 for _, ok in self.results if not ok)


SETUP = """
from missionops.services import create_organization
from missionops.services import apikeys, webhooks
from spacecraft.services import create_spacecraft
from jobs.services import set_quota
org = create_organization(name="Load", slug="load")
create_spacecraft(organization=org, designation="LOAD-1", name="Load 1", mission_type="CUBESAT", parameters={})
set_quota(organization=org, max_concurrent_jobs=4, max_queued_jobs=100000)
webhooks.create_webhook(organization=org, name="load", url=%r, event_kinds=["job."])
print(apikeys.create_api_key(organization=org, name="load", scopes=["read", "ingest", "operate", "admin"])[1])
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", action="store_true")
    parser.add_argument("--duration", type=float, default=900.0, help="seconds of load (default 15 minutes)")
    parser.add_argument("--outage-s", type=float, default=10.0, help="how long each server stays down")
    parser.add_argument("--batch", type=int, default=20, help="samples per ingest batch (10 batches/s)")
    parser.add_argument("--json", action="store_true", help="only the JSON summary line")
    args = parser.parse_args(argv)

    postgres, redis_server, receiver = Postgres(), Redis(), Receiver()
    logs = Path(os.environ.get("LOAD_LOG_DIR", "/tmp")) / f"loadbench-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_RESULT_BACKEND": redis_server.url,
        "CHANNELS_PREFIX": f"loadbench{os.getpid()}",
        "CACHE_PREFIX": f"loadbench{os.getpid()}",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_RETRY_BASE_S": "1",
        "WEBHOOK_STALE_AFTER_S": "30",
        "THROTTLE_READ": "1000000/min",
        "THROTTLE_INGEST": "1000000/min",
        "THROTTLE_OPERATE": "1000000/min",
        "THROTTLE_ADMIN": "1000000/min",
        "PYTHONUNBUFFERED": "1",
    }
    processes: dict[str, subprocess.Popen] = {}
    try:
        subprocess.run([PY, "-m", "missionops.bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        key = (
            subprocess.run(
                [PY, "manage.py", "shell", "-c", SETUP % receiver.url],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        commands = {
            "web": [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "missionops.asgi:application"],
            "worker": [
                PY,
                "-m",
                "celery",
                "-A",
                "missionops",
                "worker",
                "--concurrency=2",
                "-n",
                f"load{port}@localhost",
            ],
            "beat": [PY, "-m", "celery", "-A", "missionops", "beat", "-s", str(logs / "beat-schedule")]
            + ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
            "jobworker": [PY, "manage.py", "job_worker", "--poll-s", "0.2", "--sample-s", "0"],
        }
        # Under the supervisor `make run` uses (missionops.supervise): what exits is started again.
        procfile = logs / "Procfile"
        procfile.write_text("".join(f"{name}: {' '.join(command)}\n" for name, command in commands.items()))
        supervisor_log = logs / "supervisor.log"
        processes["supervisor"] = subprocess.Popen(
            [PY, "-m", "missionops.supervise", str(procfile)],
            cwd=ROOT,
            env=env,
            stdout=supervisor_log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(port, timeout_s=180)
        base = f"http://127.0.0.1:{port}"
        epoch = datetime(2026, 1, 1, tzinfo=UTC)
        counters = {"accepted": 0, "submitted": 0, "second": 0}

        def ingest():
            second = counters["second"]
            counters["second"] += args.batch
            batch = [
                {
                    "spacecraft": "LOAD-1",
                    "timestamp": (epoch + timedelta(seconds=second + i)).isoformat(),
                    "parameters": {"bus_voltage": 28.0 + (second + i) % 100 / 100},
                }
                for i in range(args.batch)
            ]
            status, _ = call(base, "/api/v1/telemetry/", key, batch)
            if status == 200:
                counters["accepted"] += len(batch)
            return status == 200

        def submit():
            status, _ = call(base, "/api/v1/jobs/", key, {"kind": "sleep", "params": {"duration_s": 0.05, "steps": 1}})
            counters["submitted"] += status == 201
            return status == 201

        loops = [
            Loop("ingest", 0.1, ingest),
            Loop("jobs", 0.5, submit),
            Loop("reads", 0.2, lambda: call(base, "/api/v1/spacecraft/", key)[0] == 200),
        ]
        started = time.monotonic()
        for loop in loops:
            loop.start()

        def at(fraction):
            time.sleep(max(0.0, started + args.duration * fraction - time.monotonic()))

        at(0.4)
        postgres.ctl("stop")
        time.sleep(args.outage_s)
        postgres.ctl("start")
        pg_back, pg_back_wall = time.monotonic(), datetime.now(UTC)
        at(0.7)
        redis_server.stop()
        time.sleep(args.outage_s)
        redis_server.start()
        redis_back, redis_back_wall = time.monotonic(), datetime.now(UTC)
        at(1.0)
        for loop in loops:
            loop.running = False
        for loop in loops:
            loop.join(15)
        load_s = time.monotonic() - started

        # Drain: every job finished, every delivery delivered (the sweep re-queues lost ones).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            open_jobs = postgres.query("SELECT count(*) FROM jobs_job WHERE state NOT IN ('succeeded', 'failed')")[0][0]
            open_deliveries = postgres.query(
                "SELECT count(*) FROM missionops_webhookdelivery WHERE state IN ('pending', 'retrying')"
            )[0][0]
            if not open_jobs and not open_deliveries:
                break
            time.sleep(1)

        def first_after(sql, moment):
            value = postgres.query(sql, (moment,))[0][0]
            return round((value - moment).total_seconds(), 2) if value else None

        stored = postgres.query("SELECT count(*) FROM telemetry_sample")[0][0]
        jobs = dict(postgres.query("SELECT state, count(*) FROM jobs_job GROUP BY state"))
        runs = postgres.query(
            "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1) FROM ("
            " SELECT job_id, count(*) AS n FROM jobs_joblog WHERE message LIKE 'sleeping%%' GROUP BY job_id) r"
        )[0]
        deliveries = dict(postgres.query("SELECT state, count(*) FROM missionops_webhookdelivery GROUP BY state"))
        made = sum(deliveries.values())
        summary = {
            "duration_s": round(load_s),
            "outage_s": args.outage_s,
            "samples_accepted": counters["accepted"],
            "samples_stored": stored,
            "jobs_submitted": counters["submitted"],
            "jobs_succeeded": jobs.get("succeeded", 0),
            "jobs_other_states": {k: v for k, v in jobs.items() if k != "succeeded"},
            "jobs_run_once": runs[0],
            "jobs_run_more_than_once": runs[1],
            "webhook_deliveries": made,
            "webhook_delivered": deliveries.get("succeeded", 0),
            "webhook_other_states": {k: v for k, v in deliveries.items() if k != "succeeded"},
            "receiver_unique_keys": len(receiver.keys),
            "receiver_repeats": receiver.repeats,
            "errors": {loop.name: loop.errors() for loop in loops},
            "recovery_after_postgres_s": {
                "web_ingest": _round(loops[0].first_ok_after(pg_back)),
                "web_jobs_api": _round(loops[1].first_ok_after(pg_back)),
                "job_worker": first_after("SELECT min(started_at) FROM jobs_job WHERE started_at > %s", pg_back_wall),
                "celery_worker": first_after(
                    "SELECT min(delivered_at) FROM missionops_webhookdelivery WHERE delivered_at > %s", pg_back_wall
                ),
            },
            "recovery_after_redis_s": {
                "web_ingest": _round(loops[0].first_ok_after(redis_back)),
                "web_jobs_api": _round(loops[1].first_ok_after(redis_back)),
                "job_worker": first_after(
                    "SELECT min(started_at) FROM jobs_job WHERE started_at > %s", redis_back_wall
                ),
                "celery_worker": first_after(
                    "SELECT min(delivered_at) FROM missionops_webhookdelivery WHERE delivered_at > %s",
                    redis_back_wall,
                ),
            },
            "processes_exited": [name for name, proc in processes.items() if proc.poll() is not None],
            "restarted_by_supervisor": [
                line.split("exited: ")[1].split(" ")[0]
                for line in supervisor_log.read_text().splitlines()
                if "exited: " in line
            ],
            "logs": str(logs),
        }
        if not args.json:
            print(f"{'check':<34}{'expected':>12}{'got':>12}")
            for label, expected, got in (
                ("samples stored / accepted", summary["samples_accepted"], stored),
                ("jobs succeeded / submitted", summary["jobs_submitted"], summary["jobs_succeeded"]),
                ("jobs run exactly once", summary["jobs_submitted"], runs[0]),
                ("webhooks delivered / made", made, summary["webhook_delivered"]),
                ("receiver keys / deliveries", made, len(receiver.keys)),
            ):
                print(f"{label:<34}{expected:>12}{got:>12}")
            for phase in ("recovery_after_postgres_s", "recovery_after_redis_s"):
                print(phase, summary[phase])
            print("errors during the run (outages included):", summary["errors"])
            print("processes that exited:", summary["processes_exited"] or "none")
            print("restarted by the supervisor:", summary["restarted_by_supervisor"] or "none")
        print(json.dumps(summary, default=str))
        ok = (
            stored == counters["accepted"]
            and summary["jobs_succeeded"] == counters["submitted"]
            and summary["webhook_delivered"] == made == len(receiver.keys)
            and not summary["processes_exited"]
        )
        return 0 if ok else 1
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_server.stop()
        receiver.server.shutdown()
        postgres.drop()


def _round(value):
    return round(value, 2) if value is not None else None
