"""Fault drill: a Celery worker killed (SIGKILL) in the middle of an anomaly sweep. The sweep's
transaction dies with it; the next run completes the work, and no episode exists twice."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from anomalies.models import Anomaly
from missionops import testing
from missionops.celery import app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


# The drill's worker alone takes its tasks (a queue of its own: a worker of an earlier test still
# shutting down must not run the sweep), and its database backends carry a name of their own.
QUEUE = f"kill-drill-{os.getpid()}"
APPLICATION = "kill-drill-worker"


def start_worker():
    app.control.purge()
    name = f"drill-{os.getpid()}-{time.monotonic_ns()}@localhost"
    command = [sys.executable, "-m", "celery", "-A", "missionops", "worker", "--pool=solo", "-n", name, "-Q", QUEUE]
    proc = subprocess.Popen(
        [*command, "--loglevel=WARNING"],
        cwd=testing.ROOT,
        env={**testing.test_database_env(), "PGAPPNAME": APPLICATION},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(name in reply for reply in app.control.ping(timeout=0.5) or []):
            return proc
    proc.kill()
    raise TimeoutError("worker did not start")


def backends_waiting_on_a_lock(dbname: str) -> int:
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=dbname,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        autocommit=True,
    ) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s AND wait_event_type = 'Lock'",
            [dbname, APPLICATION],
        ).fetchone()[0]


def test_worker_killed_mid_sweep_then_next_sweep_completes_without_duplicates(sc_a, send):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    noise = [20.0 + 0.1 * (i % 7) for i in range(150)]
    send(sc_a, start, {"payload_temp": noise[:100] + [20.35] * 30 + noise[:40]})
    table = Anomaly._meta.db_table
    dbname = connection.settings_dict["NAME"]
    worker = start_worker()
    try:
        with connection.cursor() as cursor:
            # Hold the anomaly table: the sweep detects, then blocks writing its episode.
            cursor.execute("BEGIN")
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            app.send_task("anomalies.sweep", queue=QUEUE)
            deadline = time.monotonic() + 30
            while backends_waiting_on_a_lock(dbname) == 0:
                assert time.monotonic() < deadline, "the sweep never reached the anomaly table"
                time.sleep(0.2)
            worker.send_signal(signal.SIGKILL)  # mid-sweep: its transaction is still open
            worker.wait(timeout=10)
            cursor.execute("COMMIT")
        assert Anomaly.objects.filter(spacecraft=sc_a).count() == 0  # nothing half-written
        worker = start_worker()
        app.send_task("anomalies.sweep", queue=QUEUE).get(timeout=60)
        app.send_task("anomalies.sweep", queue=QUEUE).get(timeout=60)  # and once more: nothing new
    finally:
        worker.kill()
        worker.wait(timeout=10)
    episodes = Anomaly.objects.filter(
        spacecraft=sc_a, parameter_name="payload_temp", detectors__contains=[{"kind": "flatline"}]
    )
    assert episodes.count() == 1
    keys = list(Anomaly.objects.filter(spacecraft=sc_a).values_list("parameter_name", "detector", "started_at"))
    assert len(keys) == len(set(keys))
