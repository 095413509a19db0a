"""Multi-host drill: MissionOps across hosts built from Linux network namespaces on this machine.

    sudo .venv/bin/python bench/cluster.py            # full drill (about 3 minutes)
    sudo .venv/bin/python bench/cluster.py --quick    # shorter phases (the test runs this)

Hosts (each a network namespace with its own address on a private bridge, 10.77.0.0/24, inside a
switch namespace: nothing is added to the machine's own network):

    pg1 10.77.0.11  PostgreSQL primary          pg2 10.77.0.12  streaming replica (pg_basebackup)
    redis 10.77.0.13                              nats 10.77.0.14  NATS JetStream
    webA 10.77.0.21  daphne                       webB 10.77.0.22  daphne
    wk1 10.77.0.31  Celery + job_worker + relay   wk2 10.77.0.32  Celery + job_worker + relay
    client 10.77.0.41  the load: ingest, a live socket, series reads, a JetStream consumer

Measured, each against its peer in the same run: ingest through two web hosts vs one (same client),
no-op jobs per second with two worker hosts vs one, replica lag under that ingest, end-to-end event
latency (commit → JetStream consumer). Then faults under load — `kill -9` of web host A (the
ingest target), of web host B (the live socket's), of worker host wk1 (jobs in flight, a relay)
and of the replica — and the outcome: samples acknowledged vs stored, jobs finished exactly once,
events in the stream exactly once, sockets reconnected, time to recover, and the no-op jobs each
worker host claimed per round. Ends with one --json line; exits 1 when a worker host claimed no job
in the two-host round (the second host then added nothing).

Needs root (namespaces), iproute2, PostgreSQL server binaries, redis-server and nats-server.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
NET = "10.77.0"
HOSTS = {
    "pg1": 11, "pg2": 12, "redis": 13, "nats": 14, "webA": 21, "webB": 22, "wk1": 31, "wk2": 32, "client": 41,
}  # fmt: skip
WORKER_HOSTS = ("wk1", "wk2")
SWITCH = "mo-switch"
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def ns(host: str) -> str:
    return f"mo-{host}"


def addr(host: str) -> str:
    return f"{NET}.{HOSTS[host]}"


def sh(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=check, capture_output=True, text=True, **kwargs)


def in_ns(host: str, *args) -> list[str]:
    return ["ip", "netns", "exec", ns(host), *[str(a) for a in args]]


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else name


def namespaces_allowed() -> str | None:
    """None when this process may build the hosts, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed"
    for tool in ("redis-server", "nats-server"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} is not installed"
    if not os.path.exists(pg_bin("pg_basebackup")):
        return "PostgreSQL server binaries are not installed"
    probe = "mo-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add is not allowed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Cluster:
    """The hosts, their processes, and teardown."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.procs: dict[str, list[subprocess.Popen]] = {}
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # ---- network ----
    def build_network(self) -> None:
        self.teardown_network()
        sh("ip", "netns", "add", SWITCH)
        sh("ip", "netns", "exec", SWITCH, "ip", "link", "add", "br0", "type", "bridge")
        sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", "br0", "up")
        for host in HOSTS:
            sh("ip", "netns", "add", ns(host))
            # The pair is made inside the host's namespace, then one end moves to the switch.
            sh(*in_ns(host, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", f"p-{host}"))
            sh(*in_ns(host, "ip", "link", "set", f"p-{host}", "netns", SWITCH))
            sh("ip", "netns", "exec", SWITCH, "ip", "link", "set", f"p-{host}", "master", "br0", "up")
            sh(*in_ns(host, "ip", "addr", "add", f"{addr(host)}/24", "dev", "eth0"))
            sh(*in_ns(host, "ip", "link", "set", "eth0", "up"))
            sh(*in_ns(host, "ip", "link", "set", "lo", "up"))

    def teardown_network(self) -> None:
        for host in HOSTS:
            self.kill_host(host)
            subprocess.run(["ip", "netns", "del", ns(host)], capture_output=True)
        subprocess.run(["ip", "netns", "del", SWITCH], capture_output=True)

    # ---- processes ----
    def start(self, host: str, name: str, args: list, env: dict | None = None, user: str | None = None):
        command = in_ns(host, *(["runuser", "-u", user, "--"] if user else []), *args)
        log = open(self.logs / f"{host}-{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.setdefault(host, []).append(proc)
        return proc

    def kill_host(self, host: str) -> None:
        """kill -9 of everything running in the host's namespace (a host that loses power)."""
        listed = subprocess.run(["ip", "netns", "pids", ns(host)], capture_output=True, text=True)
        for pid in listed.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        for proc in self.procs.pop(host, []):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def wait_port(self, host: str, port: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            probe = sh(*in_ns("client", "bash", "-c", f"exec 3<>/dev/tcp/{addr(host)}/{port}"), check=False)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{host}:{port} not listening after {timeout_s}s (logs: {self.logs})")

    # ---- services ----
    def start_postgres(self) -> None:
        pg = self.workdir / "pg"
        pg.mkdir()
        shutil.chown(pg, "postgres")
        primary, replica = pg / "primary", pg / "replica"
        sh("runuser", "-u", "postgres", "--", pg_bin("initdb"), "-D", primary, "-U", "postgres", "--auth=trust")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{addr('pg1')}'\nport = 5432\nunix_socket_directories = '{pg}'\n"
                "wal_level = replica\nmax_wal_senders = 8\nmax_connections = 300\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nwal_sender_timeout = 5s\n"
            )
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {NET}.0/24 trust\nhost replication all {NET}.0/24 trust\n")
        self.start("pg1", "postgres", [pg_bin("postgres"), "-D", primary], user="postgres")
        self.wait_port("pg1", 5432)
        sh(*in_ns("pg2", "runuser", "-u", "postgres", "--", pg_bin("pg_basebackup"), "-h", addr("pg1"), "-U",
                  "postgres", "-D", replica, "-R", "-X", "stream", "-c", "fast"))  # fmt: skip
        with open(replica / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '{addr('pg2')}'\nunix_socket_directories = '{replica}'\n")
            conf.write("hot_standby_feedback = on\n")
            conf.write("wal_receiver_status_interval = 1s\n")
        self.start_replica()
        self.replica_dir = replica

    def start_replica(self) -> None:
        self.start("pg2", "postgres", [pg_bin("postgres"), "-D", self.workdir / "pg" / "replica"], user="postgres")
        self.wait_port("pg2", 5432)

    def start_redis_and_nats(self) -> None:
        self.start("redis", "redis", ["redis-server", "--bind", addr("redis"), "--port", "6379", "--save", "",
                                      "--appendonly", "no", "--protected-mode", "no"])  # fmt: skip
        nats = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.start("nats", "nats", [nats, "-a", addr("nats"), "-p", "4222", "-js", "-sd", self.workdir / "js"])
        self.wait_port("redis", 6379)
        self.wait_port("nats", 4222)

    def app_env(self) -> dict:
        redis = f"redis://{addr('redis')}:6379"
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS", "CELERY", "NATS"))},
            "DJANGO_SETTINGS_MODULE": "missionops.settings",
            # Settings refuse to start without one (DEBUG is false); a run from a shell has none.
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "cluster-drill-only-" + "0" * 40,
            "DATABASE_URL": f"postgres://postgres@{addr('pg1')}:5432/missionops",
            "DATABASE_REPLICA_URL": f"postgres://postgres@{addr('pg2')}:5432/missionops",
            "REPLICA_CONNECT_TIMEOUT_S": "1",
            "REDIS_URL": f"{redis}/0",
            "CELERY_BROKER_URL": f"{redis}/1",
            "CELERY_RESULT_BACKEND": f"{redis}/1",
            "CHANNELS_PREFIX": "drill",
            "CACHE_PREFIX": "drill",
            "NATS_URL": f"nats://{addr('nats')}:4222",
            "ALLOWED_HOSTS": "*",
            "THROTTLE_INGEST": "1000000/min",
            "THROTTLE_READ": "1000000/min",
            "THROTTLE_OPERATE": "1000000/min",
            "LOG_LEVEL": "WARNING",
            "JOBS_GPU_BACKEND": "simulated",
            "PYTHONUNBUFFERED": "1",
        }

    def migrate_and_seed(self) -> dict:
        env = self.app_env()
        sh(*in_ns("webA", PY, "-c", "import psycopg; psycopg.connect('postgres://postgres@"
                  f"{addr('pg1')}:5432/postgres', autocommit=True).execute('CREATE DATABASE missionops')"))  # fmt: skip
        sh(*in_ns("webA", PY, "manage.py", "migrate", "--noinput", "-v", "0"), cwd=ROOT, env=env)
        seeded = sh(*in_ns("webA", PY, "manage.py", "shell", "-c", SEED), cwd=ROOT, env=env)
        return json.loads(seeded.stdout.strip().splitlines()[-1])

    def start_web(self, host: str) -> None:
        self.start(host, "daphne", [PY, "-m", "daphne", "-b", addr(host), "-p", "8000",
                                    "missionops.asgi:application"], env=self.app_env())  # fmt: skip
        self.wait_port(host, 8000)

    def start_worker_host(self, host: str, *, job_worker: bool = True) -> None:
        env = self.app_env()
        self.start(host, "celery", [PY, "-m", "celery", "-A", "missionops", "worker", "--pool=solo", "-n",
                                    f"celery@{host}", "--loglevel=WARNING"], env=env)  # fmt: skip
        self.start(host, "relay", [PY, "manage.py", "relay_events"], env=env)
        if job_worker:
            self.start_job_worker(host)

    def start_job_worker(self, host: str) -> subprocess.Popen:
        log = self.logs / f"{host}-jobworker.log"
        seen = log.read_text().count("GPU(s)") if log.exists() else 0
        proc = self.start(host, "jobworker", [PY, "manage.py", "job_worker", "--host", host, "--batch", "10",
                                              "--lease-s", "3", "--heartbeat-s", "0.5", "--sweep-s", "1",
                                              "--poll-s", "0.1", "--sample-s", "0"], env=self.app_env())  # fmt: skip
        deadline = time.monotonic() + 120
        while log.read_text().count("GPU(s)") == seen and time.monotonic() < deadline:  # its start-up line
            time.sleep(0.1)
        return proc


SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from missionops.services import create_organization, set_membership
from spacecraft.services import create_spacecraft
from spacecraft.profiles import PROFILES
org = create_organization(name="Drill")
user = get_user_model().objects.create_user(username="drill", password="drill-password-1")
set_membership(organization=org, user=user, role="admin")
sc = create_spacecraft(organization=org, designation="SC-001", name="Drill 1", mission_type="LEO_IMAGING",
                       parameters=PROFILES["LEO_IMAGING"])
print(json.dumps({"token": Token.objects.create(user=user).key, "spacecraft": str(sc.pk), "org": org.slug}))
"""


# ---- what runs on the client host (a child process in the client namespace) ----


def call(base: str, path: str, token: str, body=None, timeout_s: float = 5.0):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (OSError, TimeoutError):
        return None, None


class Ingest(threading.Thread):
    """Posts batches of `batch` snapshots to the first web host that answers, in order; a batch
    that fails is re-sent (ingest is idempotent), so every acknowledged sample must be stored."""

    def __init__(self, bases: list[str], token: str, *, lane: int, batch: int = 200):
        super().__init__(daemon=True)
        self.bases, self.token, self.lane, self.batch = bases, token, lane, batch
        self.acknowledged = self.failures = 0
        self.running, self.second = True, 1  # second 0 is the warm-up sample's
        self.last_ack = time.monotonic()
        self.acks: list[float] = []

    def run(self):
        target = 0
        while self.running:
            # One parameter per lane, all on one day of the archive (one partition).
            body = [
                {"spacecraft": "SC-001", "timestamp": (EPOCH + dt.timedelta(seconds=self.second + i)).isoformat(),
                 "parameters": {f"drill_{self.lane}": 28.0 + (i % 10) / 10}}
                for i in range(self.batch)
            ]  # fmt: skip
            status, answer = call(self.bases[target], "/api/v1/telemetry/", self.token, body, timeout_s=3)
            if status in (200, 201):
                # Acknowledged: in the archive now (stored, or already there from a re-sent batch).
                self.acknowledged += answer["received"]
                self.second += self.batch
                self.last_ack = time.monotonic()
                self.acks.append(self.last_ack)
            else:
                self.failures += 1
                target = (target + 1) % len(self.bases)  # fail over to the next web host
                time.sleep(0.05)


def run_ingest(bases: list[str], token: str, *, threads: int, seconds: float, lane0: int) -> tuple[float, list]:
    lanes = [Ingest(bases[i % len(bases) :] + bases[: i % len(bases)], token, lane=lane0 + i) for i in range(threads)]
    for lane in lanes:
        lane.start()
    time.sleep(seconds)
    for lane in lanes:
        lane.running = False
    for lane in lanes:
        lane.join(10)
    return sum(lane.acknowledged for lane in lanes) / seconds, lanes


class Socket(threading.Thread):
    """A live socket subscribed to the spacecraft, on the first host of `bases` that accepts it;
    reconnects (next host) when it drops, and records when."""

    def __init__(self, bases: list[str], token: str, spacecraft: str):
        super().__init__(daemon=True)
        self.bases, self.token, self.topic = bases, token, f"sc.{spacecraft}"
        self.messages, self.connects, self.running = 0, [], True
        self.dropped_at: list[float] = []
        self.first_message_after: list[float] = []

    def run(self):
        asyncio.run(self.loop())

    async def loop(self):
        import websockets

        target = 0
        while self.running:
            url = self.bases[target].replace("http://", "ws://") + "/ws/live/"
            try:
                async with websockets.connect(
                    url, additional_headers={"Authorization": f"Token {self.token}"}, open_timeout=3
                ) as ws:
                    await ws.send(json.dumps({"action": "subscribe", "topics": [self.topic]}))
                    self.connects.append((time.monotonic(), self.bases[target]))
                    waiting_first = bool(self.dropped_at)
                    while self.running:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        message = json.loads(raw)
                        if message.get("topic") == self.topic:
                            self.messages += 1
                            if waiting_first:
                                self.first_message_after.append(time.monotonic())
                                waiting_first = False
            except Exception:
                if self.running:
                    self.dropped_at.append(time.monotonic())
                    target = (target + 1) % len(self.bases)
                    await asyncio.sleep(0.2)


def replica_lag_sampler(samples: list, stop: threading.Event) -> None:
    import psycopg

    # The primary's view: how long ago the WAL the replica has just replayed was written.
    sql = "SELECT coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication LIMIT 1"
    with psycopg.connect(f"postgres://postgres@{addr('pg1')}:5432/missionops", autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(sql).fetchone()
            samples.append(float(row[0]) if row else float("nan"))
            stop.wait(0.1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def consume_events(url: str, org: str, latencies: list, ids: list, stop: threading.Event) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    while True:  # the relays create the stream when they first connect
        try:
            sub = await js.subscribe(f"missionops.{org}.drill.ping", ordered_consumer=True, deliver_policy="new")
            break
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.2)
    while not stop.is_set():
        try:
            msg = await sub.next_msg(timeout=0.5)
        except nats.errors.TimeoutError:
            continue
        event = json.loads(msg.data)
        latencies.append(time.time() - dt.datetime.fromisoformat(event["created_at"]).timestamp())
        ids.append(event["id"])
    await nc.close()


def stream_event_ids(url: str, org: str) -> list[str]:
    async def read_all():
        import nats

        nc = await nats.connect(url)
        js = nc.jetstream()
        sub = await js.subscribe(f"missionops.{org}.>", ordered_consumer=True, deliver_policy="all")
        ids = []
        while True:
            try:
                msg = await sub.next_msg(timeout=2)
            except nats.errors.TimeoutError:
                break
            ids.append(json.loads(msg.data)["id"])
        await nc.close()
        return ids

    return asyncio.run(read_all())


def db(sql: str, params=None, host: str = "pg1"):
    import psycopg

    with psycopg.connect(f"postgres://postgres@{addr(host)}:5432/missionops", autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def submit(kind: str, count: int, params: dict, batch: str = "") -> None:
    specs = [{"kind": kind, "name": f"{batch}{kind} {i}", "params": params} for i in range(count)]
    script = (
        "import json,sys\nfrom jobs.services import submit_jobs\nfrom missionops.models import Organization\n"
        f"specs = json.loads({json.dumps(json.dumps(specs))})\n"
        "org = Organization.objects.get(slug='drill')\n"
        "for i in range(0, len(specs), 200): submit_jobs(organization=org, actor=None, specs=specs[i:i+200])\n"
    )
    subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=CLIENT_ENV, check=True, capture_output=True)


def claimed_by_host(batch: str) -> dict[str, int]:
    """Jobs of a batch per worker host that claimed them (Job.worker is "<host>:<pid>:<id>")."""
    rows = db(
        "SELECT split_part(worker, ':', 1), count(*) FROM jobs_job WHERE name LIKE %s GROUP BY 1",
        [f"{batch}%"],
    )
    return {host: 0 for host in WORKER_HOSTS} | {host: int(n) for host, n in rows}


def drill_failures(result: dict) -> list[str]:
    """What the result shows went wrong beyond the client's own checks (the drill then exits 1)."""
    claimed = result["jobs"]["claimed_by_host"]["two"]
    return [
        f"worker host {host} claimed no job in the two-host round (claimed: {claimed})"
        for host in WORKER_HOSTS
        if not claimed.get(host)
    ]


def wait_jobs_done(kind: str, expected: int, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        (done,) = db("SELECT count(*) FROM jobs_job WHERE kind = %s AND state = 'succeeded'", [kind])[0]
        if done >= expected:
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{kind} jobs not done after {timeout_s}s")


CLIENT_ENV: dict = {}


def client_main(args) -> None:
    """The measurements, run inside the client namespace; prints one JSON object."""
    global CLIENT_ENV
    spec = json.loads(Path(args.client).read_text())
    CLIENT_ENV = spec["env"]
    token, spacecraft, org = spec["token"], spec["spacecraft"], spec["org"]
    web_a, web_b = f"http://{addr('webA')}:8000", f"http://{addr('webB')}:8000"
    control = Path(spec["control"])
    quick = spec["quick"]
    phase_s = 4.0 if quick else 10.0
    out: dict = {}

    def ask(action: str) -> None:
        """Ask the orchestrator (root namespace side) to act on the hosts, and wait until done."""
        # Written then renamed, so the orchestrator never reads a half-written (empty) request.
        pending = control / "request.tmp"
        pending.write_text(action)
        pending.rename(control / "request")
        while (control / "request").exists():
            time.sleep(0.05)

    # Event consumer (JetStream) for the whole run.
    stop_consumer, latencies, consumed = threading.Event(), [], []
    consumer = threading.Thread(
        target=lambda: asyncio.run(
            consume_events(f"nats://{addr('nats')}:4222", org, latencies, consumed, stop_consumer)
        ),
        daemon=True,
    )
    consumer.start()

    # 1. Ingest through one web host, then two (same client: 4 threads), replica lag sampled.
    lag_samples, stop_lag = [], threading.Event()
    sampler = threading.Thread(target=replica_lag_sampler, args=(lag_samples, stop_lag), daemon=True)
    sampler.start()
    for lane in list(range(4)) + list(range(10, 14)) + [100, 101]:  # register the lanes' parameters
        warm = Ingest([web_a], token, lane=lane, batch=1)
        assert call(web_a, "/api/v1/telemetry/", token, [{"spacecraft": "SC-001", "timestamp": EPOCH.isoformat(),
                    "parameters": {f"drill_{lane}": 0.0}}], timeout_s=60)[0] == 200  # fmt: skip
        del warm
    one, lanes_one = run_ingest([web_a], token, threads=4, seconds=phase_s, lane0=0)
    two, lanes_two = run_ingest([web_a, web_b], token, threads=4, seconds=phase_s, lane0=10)
    stop_lag.set()
    sampler.join(5)
    acknowledged_lanes = lanes_one + lanes_two
    out["ingest"] = {"one_web_samples_s": round(one), "two_web_samples_s": round(two)}
    out["replica_lag_s"] = {
        "p50": round(percentile(lag_samples, 0.5), 3),
        "p99": round(percentile(lag_samples, 0.99), 3),
        "max": round(max(lag_samples, default=float("nan")), 3),
        "samples": len(lag_samples),
    }

    # 2. Jobs: no-op jobs finished per second with one worker host's job worker, then two.
    jobs_n = 300 if quick else 1000

    def jobs_per_s(batch: str) -> float:
        # From the first claim to the last completion of the batch (not its submission).
        rows = db("SELECT count(*) / extract(epoch FROM max(finished_at) - min(started_at)) FROM jobs_job "
                  "WHERE name LIKE %s AND state = 'succeeded'", [f"{batch}%"])  # fmt: skip
        return float(rows[0][0])

    ask("jobworkers wk1")
    submit("noop", jobs_n, {}, batch="one:")
    wait_jobs_done("noop", jobs_n, 300)
    ask("jobworkers wk1 wk2")
    submit("noop", jobs_n, {}, batch="two:")
    wait_jobs_done("noop", 2 * jobs_n, 300)
    out["jobs"] = {
        "one_host_jobs_s": round(jobs_per_s("one:"), 1),
        "two_hosts_jobs_s": round(jobs_per_s("two:"), 1),
        "claimed_by_host": {"one": claimed_by_host("one:"), "two": claimed_by_host("two:")},
    }

    # 3. Event latency: events recorded on a host, relayed by the worker hosts, heard by the consumer.
    pings = 100 if quick else 300
    ping = (
        "import time\nfrom missionops.models import Organization\nfrom missionops.services import record_event\n"
        "org = Organization.objects.get(slug='drill')\n"
        f"for i in range({pings}):\n    record_event(organization=org, kind='drill.ping', payload={{'i': i}})\n"
        "    time.sleep(0.02)\n"
    )
    subprocess.run([PY, "manage.py", "shell", "-c", ping], cwd=ROOT, env=CLIENT_ENV, check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while len(latencies) < pings and time.monotonic() < deadline:
        time.sleep(0.1)

    # 4. Faults under load: ingest via A (B as fail-over), a live socket on B (A as fail-over),
    # sleep jobs in flight on both worker hosts, series reads (replica) through the web hosts.
    faults = []
    socket = Socket([web_b, web_a], token, spacecraft)
    socket.start()
    lanes = [Ingest([web_a, web_b], token, lane=100 + i) for i in range(2)]
    for lane in lanes:
        lane.start()
    reads, read_times = {"ok": 0, "failed": 0, "slowest_s": 0.0}, []
    reading = [True]

    def read_series():
        query = "/api/v1/telemetry/series/?spacecraft=SC-001&parameter=drill_100&start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&max_points=200"  # noqa: E501
        bases = [web_b, web_a]
        while reading[0]:
            for base in bases:
                started = time.monotonic()
                status, _ = call(base, query, token, timeout_s=5)
                if status == 200:
                    reads["ok"] += 1
                    read_times.append(time.monotonic())
                    reads["slowest_s"] = max(reads["slowest_s"], time.monotonic() - started)
                    break
            else:
                reads["failed"] += 1
            time.sleep(0.1)

    reader = threading.Thread(target=read_series, daemon=True)
    reader.start()
    time.sleep(2)

    def ingest_recovery(killed_at: float) -> float:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            acked = [t for lane in lanes for t in lane.acks if t > killed_at]
            if acked:
                return min(acked) - killed_at
            time.sleep(0.05)
        return float("nan")

    # kill -9 web host A (the ingest target): ingest fails over to B.
    heard_before_kill = socket.messages
    killed = time.monotonic()
    ask("kill webA")
    faults.append({"fault": "kill -9 web host A (ingest target)", "recovered_s": round(ingest_recovery(killed), 2),
                   "how": "ingest client fails over to web B"})  # fmt: skip
    time.sleep(1)
    out["socket_on_b_heard_ingest_via_a"] = heard_before_kill > 0
    ask("start webA")
    # kill -9 web host B (the socket's): the socket reconnects to A and hears live values again.
    resumed_before = len(socket.first_message_after)
    killed = time.monotonic()
    ask("kill webB")
    deadline = time.monotonic() + 30
    while len(socket.first_message_after) == resumed_before and time.monotonic() < deadline:
        time.sleep(0.05)
    resumed = socket.first_message_after[resumed_before:]
    recovered = resumed[0] - killed if resumed else float("nan")
    faults.append({"fault": "kill -9 web host B (live socket's)", "recovered_s": round(recovered, 2),
                   "how": "socket reconnects to web A, live values resume"})  # fmt: skip
    ingest_after_b = ingest_recovery(killed)
    faults[-1]["ingest_recovered_s"] = round(ingest_after_b, 2)
    ask("start webB")
    # kill -9 worker host wk1 (celery, job worker, relay) with jobs in flight on it: their leases
    # expire (3 s) and wk2's sweep re-queues them; recovered when the last of them has succeeded.
    sleep_jobs = 20 if quick else 60
    submit("sleep", sleep_jobs, {"duration_s": 2})
    deadline = time.monotonic() + 60
    while not (orphans := db("SELECT id FROM jobs_job WHERE state = 'running' AND worker LIKE 'wk1:%%'")):
        assert time.monotonic() < deadline, "no job ran on wk1"
        time.sleep(0.05)
    killed = time.monotonic()
    ask("kill wk1")
    orphan_ids = [row[0] for row in orphans]
    while db("SELECT count(*) FROM jobs_job WHERE id = ANY(%s) AND state <> 'succeeded'", [orphan_ids])[0][0]:
        assert time.monotonic() - killed < 120, "wk1's jobs were not re-run"
        time.sleep(0.05)
    faults.append({"fault": "kill -9 worker host wk1 (jobs in flight, relay)",
                   "recovered_s": round(time.monotonic() - killed, 2),
                   "how": f"{len(orphan_ids)} jobs: leases expire (3 s), wk2 re-runs them"})  # fmt: skip
    wait_jobs_done("sleep", sleep_jobs, 120)
    # kill -9 the replica: lag-tolerant reads fall back to the primary.
    failed_before, killed = reads["failed"], time.monotonic()
    ask("kill pg2")
    time.sleep(3)
    after = [t for t in read_times if t > killed]
    faults.append(
        {
            "fault": "kill -9 replica (pg2)",
            "recovered_s": round(after[0] - killed, 2) if after else None,
            "how": f"series reads fall back to the primary ({reads['failed'] - failed_before} failed)",
        }
    )  # noqa: E501 fmt: skip
    ask("start pg2")
    time.sleep(2)

    for lane in lanes:
        lane.running = False
    for lane in lanes:
        lane.join(10)
    reading[0] = False
    socket.running = False
    reader.join(10)
    socket.join(10)
    # Every acknowledged sample must be stored: each lane's acknowledged range, counted in the
    # archive. A batch whose answer never came (its host died, or the lane stopped waiting) may be
    # stored without being acknowledged: counted apart, it is not a loss.
    acknowledged, lost = 0, 0
    for lane in acknowledged_lanes + lanes:
        (in_archive,) = db(
            "SELECT count(*) FROM telemetry_sample s JOIN telemetry_parameterdefinition d ON d.id = s.parameter_id "
            "WHERE d.name = %s AND s.time >= %s AND s.time < %s",
            [f"drill_{lane.lane}", EPOCH + dt.timedelta(seconds=1), EPOCH + dt.timedelta(seconds=lane.second)],
        )[0]
        acknowledged += lane.acknowledged
        lost += max(0, lane.acknowledged - in_archive)
    (stored,) = db("SELECT count(*) FROM telemetry_sample WHERE time > %s", [EPOCH])[0]
    (jobs_total,) = db("SELECT count(*) FROM jobs_job")[0]
    (jobs_succeeded,) = db("SELECT count(*) FROM jobs_job WHERE state = 'succeeded'")[0]
    (completions,) = db("SELECT coalesce(sum(succeeded), 0) FROM jobs_usageday")[0]
    # Every event in the stream exactly once (wk2's relay drains what wk1's left).
    deadline = time.monotonic() + 30
    while db("SELECT count(*) FROM missionops_eventoutbox WHERE published_at IS NULL")[0][0] and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    events_in_db = {str(r[0]) for r in db("SELECT id FROM missionops_event")}
    in_stream = stream_event_ids(f"nats://{addr('nats')}:4222", org)
    stop_consumer.set()
    consumer.join(5)
    out["events"] = {
        "in_log": len(events_in_db),
        "in_stream": len(in_stream),
        "in_stream_distinct": len(set(in_stream)),
        "missing": len(events_in_db - set(in_stream)),
        "latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "consumed": len(consumed),
    }
    out["samples"] = {
        "acknowledged": acknowledged, "stored": stored, "lost": lost, "stored_unacknowledged": stored - acknowledged,
    }  # fmt: skip
    out["jobs"].update(
        {"total": jobs_total, "succeeded": jobs_succeeded, "completions": int(completions),
         "exactly_once": jobs_succeeded == jobs_total == int(completions)}
    )  # fmt: skip
    out["sockets"] = {
        "connects": len(socket.connects),
        "reconnected": len(socket.connects) >= 2 and bool(socket.first_message_after),
        "messages": socket.messages,
    }
    out["series_reads"] = reads
    out["faults"] = faults
    print(json.dumps(out))


# ---- the orchestrator (root namespace) ----


def orchestrate(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="mo-cluster-"))
    os.chmod(workdir, 0o755)
    cluster = Cluster(workdir)
    timings = {}
    try:
        started = time.monotonic()
        cluster.build_network()
        cluster.start_postgres()
        cluster.start_redis_and_nats()
        seed = cluster.migrate_and_seed()
        cluster.start_web("webA")
        cluster.start_web("webB")
        for host in WORKER_HOSTS:
            cluster.start_worker_host(host, job_worker=False)
        timings["setup_s"] = round(time.monotonic() - started, 1)
        control = workdir / "control"
        control.mkdir()
        spec = workdir / "client.json"
        spec.write_text(json.dumps({**seed, "env": cluster.app_env(), "control": str(control), "quick": args.quick}))
        client = subprocess.Popen(
            in_ns("client", PY, str(Path(__file__).resolve()), "--client", spec),
            cwd=ROOT,
            env=cluster.app_env(),
            stdout=subprocess.PIPE,
            stderr=open(cluster.logs / "client.log", "wb"),  # noqa: SIM115
            text=True,
        )
        job_workers: dict[str, subprocess.Popen] = {}
        while client.poll() is None:
            request = control / "request"
            if request.exists():
                action, *hosts = request.read_text().split()
                if action == "jobworkers":
                    for host in hosts:
                        if host not in job_workers:
                            job_workers[host] = cluster.start_job_worker(host)
                elif action == "kill":
                    cluster.kill_host(hosts[0])
                elif action == "start" and hosts[0].startswith("web"):
                    cluster.start_web(hosts[0])
                elif action == "start" and hosts[0] == "pg2":
                    cluster.start_replica()
                request.unlink()
            time.sleep(0.05)
        output = client.stdout.read().strip().splitlines()
        if client.returncode != 0 or not output:
            raise RuntimeError(f"client failed ({client.returncode}); see {cluster.logs}/client.log:\n"
                               + (cluster.logs / "client.log").read_text()[-3000:])  # fmt: skip
        result = json.loads(output[-1])
        result.update(timings)
        return result
    finally:
        cluster.teardown_network()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def report(result: dict) -> None:
    ingest, jobs, events = result["ingest"], result["jobs"], result["events"]
    rows = [
        ("ingest, samples/s", f"{ingest['one_web_samples_s']:,}", f"{ingest['two_web_samples_s']:,}", "1 web → 2 webs"),
        ("no-op jobs/s", f"{jobs['one_host_jobs_s']}", f"{jobs['two_hosts_jobs_s']}", "1 worker host → 2"),
    ]
    claimed = ", ".join(
        f"{round_}: " + " ".join(f"{host} {n}" for host, n in sorted(hosts.items()))
        for round_, hosts in jobs["claimed_by_host"].items()
    )
    print(f"{'measure':<24}{'one':>12}{'two':>12}  peer")
    for name, a, b, peer in rows:
        print(f"{name:<24}{a:>12}{b:>12}  {peer}")
    print(f"no-op jobs claimed per worker host, by round ({claimed})")
    lag = result["replica_lag_s"]
    print(f"replica lag under ingest: p50 {lag['p50']} s, p99 {lag['p99']} s, max {lag['max']} s")
    print(f"event latency commit → JetStream consumer: p50 {events['latency_p50_ms']} ms, "
          f"p99 {events['latency_p99_ms']} ms ({events['consumed']} events)")  # fmt: skip
    print()
    print(f"{'fault':<48}{'recovered':>10}  how")
    for fault in result["faults"]:
        recovered = "never" if fault["recovered_s"] is None else f"{fault['recovered_s']}s"
        print(f"{fault['fault']:<48}{recovered:>10}  {fault['how']}")
    samples = result["samples"]
    print()
    print(f"samples acknowledged {samples['acknowledged']:,}, lost {samples['lost']}; stored {samples['stored']:,} "
          f"({samples['stored_unacknowledged']} from batches whose answer never came)")  # fmt: skip
    print(f"jobs {jobs['total']}: succeeded {jobs['succeeded']}, completions counted {jobs['completions']} "
          f"(exactly once: {jobs['exactly_once']})")  # fmt: skip
    print(f"events in the log {events['in_log']}, in the stream {events['in_stream']} "
          f"({events['in_stream_distinct']} distinct, {events['missing']} missing)")  # fmt: skip
    sockets = result["sockets"]
    print(f"live socket: {sockets['connects']} connects, reconnected {sockets['reconnected']}, "
          f"{sockets['messages']} live messages")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter phases")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return 0
    why = namespaces_allowed()
    if why:
        print(f"cluster drill skipped: {why}", file=sys.stderr)
        return 77
    result = orchestrate(args)
    try:
        report(result)
    finally:
        print("--json " + json.dumps(result))
    failures = drill_failures(result)
    for failure in failures:
        print(f"cluster drill failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
