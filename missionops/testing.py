"""Shared pytest fixtures (loaded as a plugin from pytest.ini): organizations, users in each role,
spacecraft, authenticated API clients, and real processes (daphne, Celery worker)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Tests get their own Celery broker database and channel prefix, so a `make run` on the same
# machine neither steals test tasks nor hears test live messages.
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CHANNELS_PREFIX", "missionops-test")
os.environ.setdefault("SECRET_KEY", "tests-only-key-" + "0" * 40)  # settings refuse to start without one
os.environ.setdefault("METRICS_ALLOW_LOOPBACK", "true")
# Outbound calls in tests go to local fixture servers (production allows public addresses only).
os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
# The race tests' threads each hold a connection (and close it): the default 16, whatever .env says.
os.environ.setdefault("DB_POOL_MAX_SIZE", "16")
os.environ.setdefault("CACHE_PREFIX", f"missionops-test-{os.getpid()}")  # fresh throttle counters per run

ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """This process's pool waits longer for a connection than a server does (3 s): a drill that
    restarts PostgreSQL under a loaded machine must not fail its teardown on the wait. Set here,
    not in the environment, so the servers the tests start keep the 3 s their 503 tests time."""
    from django.conf import settings

    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict):
        pool["timeout"] = max(float(pool.get("timeout", 0)), 20.0)


PASSWORD = "correct-horse-battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def make_org(db):
    from missionops.services import create_organization

    def make(name="Org A"):
        return create_organization(name=name)

    return make


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from missionops.services import set_membership

    def make(username, org=None, role="viewer"):
        user = get_user_model().objects.create_user(username=username, password=PASSWORD)
        if org is not None:
            set_membership(organization=org, user=user, role=role)
        return user

    return make


@pytest.fixture
def org_a(make_org):
    return make_org("Org A")


@pytest.fixture
def org_b(make_org):
    return make_org("Org B")


@pytest.fixture
def owner(make_user, org_a):
    """Admin of organization A."""
    return make_user("owner", org_a, "admin")


@pytest.fixture
def operator(make_user, org_a):
    return make_user("operator", org_a, "operator")


@pytest.fixture
def viewer(make_user, org_a):
    return make_user("viewer", org_a, "viewer")


@pytest.fixture
def stranger(make_user, org_b):
    """Admin of organization B: must never see or touch anything of A."""
    return make_user("stranger", org_b, "admin")


@pytest.fixture
def make_spacecraft(db):
    from spacecraft.services import create_spacecraft

    counter = iter(range(1, 10_000))

    def make(org, designation=None, mission_type="LEO_IMAGING", parameters=None, **fields):
        designation = designation or f"SC-{next(counter):03d}"
        return create_spacecraft(
            organization=org,
            designation=designation,
            name=fields.pop("name", f"Test {designation}"),
            mission_type=mission_type,
            parameters=parameters,
            **fields,
        )

    return make


@pytest.fixture
def sc_a(make_spacecraft, org_a):
    from spacecraft.profiles import PROFILES

    return make_spacecraft(org_a, "SC-001", parameters=PROFILES["LEO_IMAGING"])


@pytest.fixture
def live_sent(monkeypatch):
    """What `missionops.live` sends while the test runs, as (topic, message) pairs. Messages leave
    at commit: run the code under `django_capture_on_commit_callbacks(execute=True)`."""
    from missionops import live

    sent = []
    monkeypatch.setattr(live, "_send", lambda sends: sent.extend((m["topic"], m["data"]) for _, m in sends))
    return sent


@pytest.fixture
def api(db):
    """api(user) -> a DRF client authenticated with the user's real API token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port} after {timeout_s}s")


def poll_until(predicate, timeout_s: float = 30.0, every_s: float = 0.1, message: str = "condition"):
    """`predicate()`'s first truthy value, polled every `every_s`; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"{message} not reached within {timeout_s} s")


def test_database_env() -> dict:
    """Environment for a child process that must use the test database of this run."""
    from django.db import connection

    settings = connection.settings_dict
    user, host, port = settings["USER"] or "postgres", settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    url = f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


test_database_env.__test__ = False  # a helper, not a test, wherever it is imported


def daphne_size_flags() -> list[str]:
    """daphne's WebSocket size limits as the Procfile sets them (settings.DAPHNE_WEBSOCKET_*)."""
    from django.conf import settings

    return [
        "--websocket-max-message-size",
        str(settings.DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE),
        "--websocket-max-frame-size",
        str(settings.DAPHNE_WEBSOCKET_MAX_FRAME_SIZE),
    ]


@pytest.fixture
def live_server_daphne(transactional_db):
    """A real daphne (HTTP + WebSocket) on a free port, serving this run's test database."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            *daphne_size_flags(),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "missionops.asgi:application",
        ],
        cwd=ROOT,
        env=test_database_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout_s=60.0)  # daphne imports the whole project: slow on a loaded machine
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # open sockets hold its graceful shutdown
            proc.kill()
            proc.wait()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker (solo pool) on the test broker and the test database."""
    from missionops.celery import app

    app.control.purge()  # tasks queued by earlier tests that had no worker must not run now
    name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "missionops", "worker", "--pool=solo", "-n", name, "--loglevel=WARNING"],
        cwd=ROOT,
        env=test_database_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if any(name in reply for reply in app.control.ping(timeout=0.5) or []):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited: {proc.stdout.read().decode()[-2000:]}")
        else:
            raise TimeoutError("celery worker did not answer ping within 30 s")
        yield name
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def _no_login_lockout_left_behind():
    """Sign-in lockouts live in Redis for LOGIN_LOCKOUT_S, across tests: a test that provokes one
    must not refuse every later test of the run that signs in as that user from 127.0.0.1."""
    yield
    from django.core.cache import cache

    from missionops.cache_redis import cache_redis

    try:
        for key in cache_redis().scan_iter(match=cache.make_key("login:*")):
            cache_redis().delete(key)
    except Exception:  # Redis stopped by a fault drill: nothing is kept there then either
        pass


def _pool_connections_out() -> int:
    """Connections of the default pool not back in it, less the one this (main) thread holds."""
    from django.db import connections

    wrapper = connections["default"]
    pool = type(wrapper)._connection_pools.get("default") if hasattr(type(wrapper), "_connection_pools") else None
    if pool is None:
        return 0
    stats = pool.get_stats()
    held_here = 1 if wrapper.connection is not None else 0
    return stats.get("pool_size", 0) - stats.get("pool_available", 0) - held_here


@pytest.fixture(autouse=True)
def _no_pool_connection_leaked(request):
    """A thread that ends without closing its database connection keeps it checked out of the
    process's pool for good: eight of those and every later threaded test waits 3 s for a
    connection and fails far from the cause. The test that leaks fails instead."""
    import inspect

    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        yield  # asgiref's long-lived executor thread keeps its connection between socket tests: not a leak
        return
    before = _pool_connections_out()
    yield
    deadline = time.monotonic() + 2.0  # a connection being opened or returned in the background
    while (leaked := _pool_connections_out() - before) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if leaked > 0:
        pytest.fail(
            f"{leaked} pooled database connection(s) left checked out by a thread of this test: "
            "close it in the thread (missionops.testing.in_thread does)"
        )


def in_thread(function, *args, timeout_s: float = 10.0, **kwargs):
    """Run `function(*args, **kwargs)` in its own thread on its own database connection, closed
    when it ends; returns its value or raises what it raised. For ORM work while Playwright's
    event loop runs in the test's thread (Django refuses synchronous ORM calls under one)."""
    import threading

    from django.db import connections

    outcome: dict = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # handed to the test, not lost in the thread
            outcome["error"] = error
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"{getattr(function, '__name__', function)} still running after {timeout_s} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture(scope="session", autouse=True)
def _close_stray_test_connections(django_db_setup, django_db_blocker):
    """Socket tests leave connections open in channels' worker threads; close them so the
    test database can be dropped at the end of the run."""
    yield
    from django.db import DatabaseError, connection

    # Only ever the test database's own connections: a run of source-only tests may leave this
    # connection on the development database, and terminating there cut a running `make run` off.
    test_database = connection.settings_dict.get("TEST", {}).get("NAME")
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND datname = %s AND pid <> pg_backend_pid()",
                    [test_database],
                )
        except DatabaseError:  # a run that never opened the test database (source-only tests)
            pass


@pytest.fixture
def browser_page():
    """A page in Debian's headless Chromium, driven by Playwright. Request database fixtures before it:
    Playwright's sync API runs an event loop, and Django refuses synchronous ORM calls under one."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        try:
            yield page
        finally:
            browser.close()


def run_at_once(*calls) -> list[BaseException]:
    """Start the calls together, each in its own thread on its own database connection (a race
    between two writers); returns what they raised, in no particular order."""
    import threading

    from django.db import connections

    barrier, raised = threading.Barrier(len(calls)), []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # reported to the test, not lost in the thread
            raised.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return raised


def wait_until(page, expression: str, *, timeout_ms: float = 10_000) -> None:
    """Poll a JavaScript expression (or arrow function) from the test until it is truthy.
    page.wait_for_function polls inside the page with eval, which the pages' CSP refuses (no
    'unsafe-eval') whenever the first check is not already true."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_ms:.0f} ms: {expression}")
        page.wait_for_timeout(100)


def log_in(page, base: str, username: str, path: str = "/fleet/", password: str = PASSWORD) -> None:
    """Open `path` in a browser page, sign in on the login page it is sent to, and wait until it is
    back on `path` with its live socket subscribed."""
    page.goto(f"{base}{path}")
    assert "/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
