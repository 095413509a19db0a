"""The database pool of a web process (DB_POOL_*), against a real daphne.

Django runs each request's synchronous view on a thread of its own (the ASGI handler enters an
asgiref ThreadSensitiveContext per request), so a daphne's threads do not bound how many requests
use the database at once: the pool does. A request beyond DB_POOL_MAX_SIZE waits for a connection
to come back, and gets the 503 of an outage only past DB_POOL_TIMEOUT_S.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from missionops.testing import ROOT, run_at_once, test_database_env

LOCKED_TABLE = "spacecraft_spacecraft"  # what GET /api/v1/spacecraft/ reads
WIDE_POOL = (os.cpu_count() or 1) + 6  # more than the "cores + 4" sync threads daphne was thought to run


def get_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def backends_waiting_for(lock_holder_pid: int) -> int:
    """Sessions of the test database blocked by the lock holder (each one a request holding a
    pooled connection)."""
    with psycopg.connect(test_database_env()["DATABASE_URL"], autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [lock_holder_pid]
        ).fetchone()[0]


def wait_for(condition, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def requests_while_locked(url: str, token: str, *, requests: int, release_when) -> tuple[list[int], list[int]]:
    """`requests` concurrent GETs of `url` while the table they read is locked; the lock is released
    once `release_when(statuses, blocked_in_postgres)` holds. Returns the statuses and every reading
    of how many requests were blocked inside PostgreSQL (each holding a connection of the pool)."""
    statuses: list[int] = []
    blocked: list[int] = []
    lock = psycopg.connect(test_database_env()["DATABASE_URL"])
    lock.execute(f"LOCK TABLE {LOCKED_TABLE} IN ACCESS EXCLUSIVE MODE")
    pid = lock.info.backend_pid
    done = threading.Event()

    def release():
        try:
            deadline = time.monotonic() + 60
            while not release_when(statuses, blocked) and time.monotonic() < deadline:
                blocked.append(backends_waiting_for(pid))
                time.sleep(0.05)
        finally:
            lock.rollback()
            lock.close()
            done.set()

    def request():
        statuses.append(get_status(url, token))

    raised = run_at_once(release, *[request] * requests)
    assert done.is_set() and raised == [], raised
    return statuses, blocked


@pytest.fixture
def narrow_pool(monkeypatch):
    """Read by the daphne the test starts: two connections, the default wait."""
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "1")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "2")
    monkeypatch.delenv("DB_POOL_TIMEOUT_S", raising=False)


@pytest.fixture
def wide_pool(monkeypatch):
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "1")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", str(WIDE_POOL))
    monkeypatch.setenv("DB_POOL_TIMEOUT_S", "2")


@pytest.fixture
def token(viewer, sc_a):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=viewer).key


@pytest.mark.slow
def test_more_concurrent_short_requests_than_connections_all_succeed(narrow_pool, token, live_server_daphne):
    url = f"{live_server_daphne}/api/v1/spacecraft/"
    assert get_status(url, token) == 200  # the pool opened
    # 16 requests at once against 2 connections: the table is locked a moment so they pile up, two
    # inside PostgreSQL and the rest waiting in the pool; once it is free each is short.
    statuses, blocked = requests_while_locked(
        url, token, requests=16, release_when=lambda statuses, blocked: blocked[-3:] == [2, 2, 2]
    )
    assert max(blocked) == 2  # the pool, not a thread limit, held the other 14 back
    assert statuses == [200] * 16


@pytest.mark.slow
def test_requests_beyond_the_pool_wait_for_a_connection_then_get_503(wide_pool, token, live_server_daphne):
    url = f"{live_server_daphne}/api/v1/spacecraft/"
    assert get_status(url, token) == 200
    # WIDE_POOL requests block inside PostgreSQL at once, each on a thread of its own; two more wait
    # in the pool for DB_POOL_TIMEOUT_S (2 s) and get the 503; the table is then released.
    statuses, blocked = requests_while_locked(
        url, token, requests=WIDE_POOL + 2, release_when=lambda statuses, blocked: statuses.count(503) >= 2
    )
    assert max(blocked) == WIDE_POOL
    assert sorted(statuses) == [200] * WIDE_POOL + [503] * 2


def test_the_replica_gets_the_pool_and_waits_no_longer_than_its_connect_timeout():
    env = {
        **os.environ,
        "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:5433/missionops",
        "REPLICA_CONNECT_TIMEOUT_S": "1",
        "DB_POOL_MAX_SIZE": "5",
    }
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({alias: settings.DATABASES[alias] for alias in ('default', 'replica')}, default=str))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    databases = json.loads(run.stdout.strip().splitlines()[-1])
    default, replica = databases["default"], databases["replica"]
    assert replica["OPTIONS"]["pool"] == {**default["OPTIONS"]["pool"], "timeout": 1.0}
    assert default["OPTIONS"]["pool"]["max_size"] == 5
    assert replica["CONN_MAX_AGE"] == 0 and replica["CONN_HEALTH_CHECKS"] is True
    assert replica["OPTIONS"]["connect_timeout"] == 1
