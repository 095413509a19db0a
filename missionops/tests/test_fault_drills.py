"""Fault drills with real processes: a Redis restart under live sockets and ingest, and the
database going away under the API. Nothing here is mocked."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from missionops.testing import CHROMIUM, PASSWORD, ROOT, free_port, test_database_env, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def start_redis(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc


def start_daphne(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "missionops.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc, f"http://127.0.0.1:{port}"


def call(base, path, token, body=None, method=None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class IngestClient(threading.Thread):
    """Posts one batch of 10 samples every 50 ms; remembers what the server acknowledged."""

    def __init__(self, base, token):
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.acknowledged, self.failures, self.batches = 0, 0, 0
        self.running = True

    def run(self):
        second = 0
        while self.running:
            batch = [
                {
                    "spacecraft": "SC-001",
                    "timestamp": (EPOCH + timedelta(seconds=second + i)).isoformat(),
                    "parameters": {"bus_voltage": 28.0 + i / 100},
                }
                for i in range(10)
            ]
            status, body = call(self.base, "/api/v1/telemetry/", self.token, batch, "POST")
            if status in (200, 201):
                self.acknowledged += body["stored"]
                second += 10  # only acknowledged seconds advance; a failed batch is re-sent
            else:
                self.failures += 1
            self.batches += 1
            time.sleep(0.05)


@pytest.fixture
def operator_token(operator):
    return Token.objects.create(user=operator).key


def test_redis_restart_sockets_reconnect_and_no_acknowledged_sample_is_lost(operator, operator_token, sc_a):
    from playwright.sync_api import sync_playwright

    from telemetry.models import ParameterDefinition

    redis_port = free_port()
    redis_proc = start_redis(redis_port)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **test_database_env(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CACHE_PREFIX": f"drill-{os.getpid()}",
    }
    daphne, base = start_daphne(env)
    ingest = IngestClient(base, operator_token)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(f"{base}/fleet/")  # the fleet board: signing in lands on the overview otherwise
            page.fill("input[name=username]", operator.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/fleet/")
            page.wait_for_selector('#live-status[data-state="live"]', timeout=15_000)
            ingest.start()
            time.sleep(1.5)
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
            time.sleep(3)  # ingest goes on meanwhile: PostgreSQL holds the data, Redis only the live path
            before_restart = ingest.acknowledged
            redis_proc = start_redis(redis_port)
            time.sleep(1.5)
            # The socket is live again (reconnected by live.js, or kept by the layer) and delivers.
            page.wait_for_selector('#live-status[data-state="live"]', timeout=40_000)
            deadline = time.monotonic() + 40
            mode = "safe"
            while time.monotonic() < deadline:
                call(base, f"/api/v1/spacecraft/{sc_a.pk}/state/", operator_token, {"mode": mode}, "POST")
                try:
                    page.wait_for_selector(f'.mode-column[data-mode="{mode}"] #sc-{sc_a.pk}', timeout=3_000)
                    break
                except Exception:  # noqa: BLE001 - subscription not back yet: try the other mode
                    mode = "standby" if mode == "safe" else "safe"
            else:
                pytest.fail("no live update reached the browser after the Redis restart")
            assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
            browser.close()
        time.sleep(1)
    finally:
        ingest.running = False
        if ingest.ident is not None:  # started (a browser that failed to launch never got that far)
            ingest.join(timeout=15)
        daphne.terminate()
        daphne.wait(timeout=10)
        redis_proc.terminate()
    assert before_restart > 0 and ingest.acknowledged > before_restart
    definition = ParameterDefinition.objects.get(spacecraft=sc_a, name="bus_voltage")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_sample WHERE parameter_id = %s", [definition.pk])
        stored = cursor.fetchone()[0]
    assert stored == ingest.acknowledged, (stored, ingest.acknowledged, ingest.failures)


class PrivateCluster:
    """A PostgreSQL cluster of our own (pg_createcluster), so the drill can restart a real server
    without touching the one every other test uses."""

    def __init__(self):
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]
        self.name, self.port = f"drill{os.getpid()}", free_port()
        subprocess.run(
            [
                "pg_createcluster",
                self.version,
                self.name,
                "--port",
                str(self.port),
                "--",
                "--auth-local=trust",
                "--auth-host=trust",
            ],
            check=True,
            capture_output=True,
        )
        self.ctl("start")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/drill"

    def ctl(self, action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action],
            check=True,
            capture_output=True,
        )

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("pg_createcluster"),
    reason="needs root and Debian's postgresql-common to make a private cluster",
)
def test_postgres_restart_answers_503_then_recovers_by_itself():
    cluster = PrivateCluster()
    daphne = None
    try:
        env = {**os.environ, "DATABASE_URL": cluster.url, "PYTHONUNBUFFERED": "1"}
        subprocess.run(
            [sys.executable, "-m", "missionops.bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        make_user = (
            "from missionops.services import create_organization, set_membership;"
            "from django.contrib.auth import get_user_model;"
            "from rest_framework.authtoken.models import Token;"
            "u = get_user_model().objects.create_user('drill');"
            "set_membership(organization=create_organization(name='Drill'), user=u, role='admin');"
            "print(Token.objects.create(user=u).key)"
        )
        token = (
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", make_user],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        daphne, base = start_daphne(env)
        assert call(base, "/api/v1/spacecraft/", token)[0] == 200
        cluster.ctl("stop")
        status, body = call(base, "/api/v1/spacecraft/", token)
        assert status == 503 and body == {"detail": "database unavailable, retry shortly"}
        status, body = call(base, "/health/", token)
        assert status == 503 and body["components"]["database"]["status"] == "Unhealthy"
        cluster.ctl("start")
        deadline = time.monotonic() + 30
        while (status := call(base, "/api/v1/spacecraft/", token)[0]) != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == 200  # recovered without restarting the web process
    finally:
        if daphne is not None:
            daphne.terminate()
            daphne.wait(timeout=10)
        cluster.drop()


def set_connections_allowed(name: str, allowed: bool, keep_pid: int | None = None) -> None:
    """From the maintenance database: refuse (and cut) or allow connections to the test database,
    which is what the web process sees while PostgreSQL restarts."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [name, keep_pid or 0],
            )


def test_database_outage_answers_503_then_recovers_by_itself(operator, operator_token, sc_a):
    daphne, base = start_daphne(test_database_env())
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]  # this test's own connection survives the outage
    try:
        assert call(base, "/api/v1/spacecraft/", operator_token)[0] == 200
        set_connections_allowed(name, False, keep_pid=own_pid)
        status, body = call(base, "/api/v1/spacecraft/", operator_token)
        assert status == 503 and body == {"detail": "database unavailable, retry shortly"}
        status, body = call(base, "/health/", operator_token)
        assert status == 503 and body["components"]["database"]["status"] == "Unhealthy"
        status, body = call(base, "/api/v1/events/", operator_token)
        assert status == 503 and body["detail"] == "database unavailable, retry shortly"
    finally:
        set_connections_allowed(name, True)
    try:
        status, _ = call(base, "/api/v1/spacecraft/", operator_token)
        assert status == 200  # no restart of the web process needed
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)


def shell(env: dict, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


SUBMIT = (
    "from missionops.models import Organization; from jobs.services import submit_jobs;"
    "submit_jobs(organization=Organization.objects.get(name='Drill'), actor=None,"
    " specs=[{{'kind': 'sleep', 'params': {{'duration_s': 0.2, 'steps': 2}}}}] * {n})"
)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("pg_createcluster"),
    reason="needs root and Debian's postgresql-common to make a private cluster",
)
@pytest.mark.timeout(600)
def test_job_worker_survives_a_postgres_restart_and_runs_every_job(tmp_path):
    import psycopg

    cluster = PrivateCluster()
    log = (tmp_path / "worker.log").open("w+")
    worker = None
    try:
        env = {**os.environ, "DATABASE_URL": cluster.url, "PYTHONUNBUFFERED": "1"}
        subprocess.run([sys.executable, "-m", "missionops.bootstrap"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        shell(env, "from missionops.services import create_organization; create_organization(name='Drill')")
        shell(env, SUBMIT.format(n=20))
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "job_worker", "--poll-s", "0.1", "--sweep-s", "2", "--sample-s", "0"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def output(tail: int | None = 3000):
            log.seek(0)
            return log.read()[-tail if tail else 0 :]

        def counts():
            with psycopg.connect(cluster.url.replace("postgres://", "postgresql://"), connect_timeout=2) as db:
                return dict(db.execute("SELECT state, count(*) FROM jobs_job GROUP BY state").fetchall())

        deadline = time.monotonic() + 60
        while counts().get("succeeded", 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster.ctl("stop")  # mid-queue: jobs in hand, claims failing
        time.sleep(5)
        assert worker.poll() is None, output()
        cluster.ctl("start")
        shell(env, SUBMIT.format(n=20))
        deadline = time.monotonic() + 90
        while counts().get("succeeded", 0) < 40 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert counts() == {"succeeded": 40}, (counts(), output())
        assert worker.poll() is None  # the same process, reconnected by itself
        # Anywhere in the log: a background thread's traceback may follow it (its own reconnect).
        assert "database back after" in output(tail=None), output()
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        cluster.drop()


def test_celery_worker_under_the_supervisor_runs_tasks_after_a_redis_restart(tmp_path, monkeypatch):
    """A Celery worker can exit after a Redis restart: kombu 5.7 (latest) fails restoring the
    unacknowledged messages of the lost connection ("'NoneType' object has no attribute 'hostname'",
    an unrecoverable error) and the worker shuts down warm. So `make run` runs it under
    a supervisor that starts it again (missionops.supervise). Here the Procfile's worker runs two
    long acks-late tasks when its private Redis stops for 15 s; after Redis is back, new tasks run
    and the supervisor is still up."""
    from celery import Celery

    redis_port = free_port()
    redis_proc = start_redis(redis_port)
    url = f"redis://127.0.0.1:{redis_port}/0"
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):  # Celery reads these before its arguments
        monkeypatch.delenv(name, raising=False)
    env = {
        **test_database_env(),
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "CELERY_RESULT_BACKEND": url,
        "CACHE_PREFIX": f"celery-drill-{os.getpid()}",
    }
    log = tmp_path / "worker.log"
    worker = (
        f"{sys.executable} -m celery -A missionops worker --concurrency=2 -Q drill -I missionops.tests.drill_tasks "
        f"-n drill-{os.getpid()}@%h --loglevel=INFO --logfile={log}"
    )
    (tmp_path / "Procfile").write_text(f"worker: {worker}\n")
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "missionops.supervise", str(tmp_path / "Procfile")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    client = Celery("drill", broker=url, backend=url, set_as_current=False)

    def answered() -> bool:
        try:
            return any(f"drill-{os.getpid()}@" in w for reply in client.control.ping(timeout=1.0) for w in reply)
        except Exception:  # noqa: BLE001 - Redis coming back
            return False

    def wait_for(condition, what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.2)

    try:
        wait_for(answered, "the worker did not come up", 90)
        for _ in range(2):
            client.send_task("drill.sleep", args=[20], queue="drill")
        wait_for(lambda: log.read_text().count("received") >= 2, "the worker did not receive the tasks", 60)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        time.sleep(15)
        redis_proc = start_redis(redis_port)
        # An empty Redis has lost the queue bindings: the worker declares them again when it is back
        # (a publish before that goes nowhere; the webhook deliveries' sweep covers those).
        wait_for(answered, "no worker answered after the restart", 120)
        after = [client.send_task("drill.sleep", args=[0.1], queue="drill") for _ in range(5)]
        assert [r.get(timeout=120) for r in after] == [0.1] * 5
        assert supervisor.poll() is None
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.wait(timeout=60)
        redis_proc.terminate()
