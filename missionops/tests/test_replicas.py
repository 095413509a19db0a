"""Reads on a real PostgreSQL streaming replica (missionops.replicas).

The outer test starts a private primary and a streaming replica (initdb, pg_basebackup), then runs
this module again in a child pytest whose DATABASE_URL is the primary and DATABASE_REPLICA_URL the
replica, exactly as a deployment configures them; the inner tests run only there.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from missionops.testing import ROOT, free_port, wait_for_port

IN_REPLICA_RUN = "replica" in settings.DATABASES
inner = pytest.mark.skipif(not IN_REPLICA_RUN, reason="runs in the child run with DATABASE_REPLICA_URL set")


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else (shutil.which(name) or name)


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start_cluster(data: Path, port: int, log: Path) -> None:
    subprocess.run(
        as_postgres([postgres_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start",
                     "-o", f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1"]),
        check=True, capture_output=True,
    )  # fmt: skip
    wait_for_port(port)


def make_streaming_pair(base: Path) -> dict:
    """A primary and a streaming replica of it, in `base`, on free ports."""
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    primary_port, replica_port = free_port(), free_port()
    subprocess.run(
        as_postgres([postgres_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    with open(primary / "postgresql.conf", "a") as conf:
        conf.write("wal_level = replica\nmax_wal_senders = 5\nfsync = off\nsynchronous_commit = off\n")
        conf.write("full_page_writes = off\nwal_sender_timeout = 5s\n")
    start_cluster(primary, primary_port, base / "primary.log")
    subprocess.run(
        as_postgres([postgres_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
                     "-D", str(replica), "-R", "-X", "stream", "-c", "fast"]),
        check=True, capture_output=True,
    )  # fmt: skip
    with open(replica / "postgresql.conf", "a") as conf:
        conf.write("hot_standby_feedback = on\nwal_receiver_status_interval = 1s\n")
    start_cluster(replica, replica_port, base / "replica.log")
    return {"primary": primary, "replica": replica, "primary_port": primary_port, "replica_port": replica_port}


def stop_cluster(data: Path, mode: str = "fast") -> None:
    subprocess.run(as_postgres([postgres_bin("pg_ctl"), "-D", str(data), "-m", mode, "stop"]), capture_output=True)


@pytest.mark.slow
@pytest.mark.timeout(900)  # the child run migrates a fresh database on a busy machine
@pytest.mark.skipif(IN_REPLICA_RUN, reason="this is the child run")
def test_reads_against_a_real_streaming_replica():
    if not Path(postgres_bin("pg_basebackup")).exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    base = Path(tempfile.mkdtemp(prefix="mo-replica-"))
    pair = make_streaming_pair(base)
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pair['primary_port']}/postgres",
            "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{pair['replica_port']}/postgres",
            "TEST_DATABASE_NAME": "test_mo_replicas",
            "MO_REPLICA_PGDATA": str(pair["replica"]),
            "PYTHONUNBUFFERED": "1",
        }
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db", __file__],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        summary = child.stdout.strip().splitlines()[-1] if child.stdout.strip() else ""
        assert child.returncode == 0, child.stdout[-6000:] + child.stderr[-3000:]
        inner_tests = sum(1 for name in globals() if name.startswith("test_replica_"))
        assert f"{inner_tests} passed" in summary, summary
    finally:
        stop_cluster(pair["replica"], "immediate")
        stop_cluster(pair["primary"], "immediate")
        shutil.rmtree(base, ignore_errors=True)


# ---- the child run: DATABASE_URL is the private primary, DATABASE_REPLICA_URL its replica ----

both = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica_settings(settings):
    settings.REPLICA_STATE_TTL_S = 0
    settings.REPLICA_MAX_LAG_S = 30
    yield settings
    with connections["replica"].cursor() as cursor:  # never leave replay paused for the next test
        cursor.execute("SELECT pg_wal_replay_resume()")


def wait_replayed(timeout_s: float = 60.0) -> None:
    """Until the replica has replayed every transaction the primary has committed so far (its WAL
    position as read-your-writes reads it: PRIMARY_LSN_SQL)."""
    from missionops.replicas import PRIMARY_LSN_SQL, replica_state

    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(PRIMARY_LSN_SQL)
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout_s
    while replica_state(fresh=True).replay_lsn < target:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def pause_replay() -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")


def resume_replay() -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")


@contextmanager
def replay_delayed(seconds: int = 15):
    """The replica applies each commit `seconds` after it was made (recovery_min_apply_delay): it
    lags, within the limit, yet nothing stops half-way (a paused replay can hold a lock that blocks
    readers until it resumes)."""
    conf = Path(os.environ["MO_REPLICA_PGDATA"]) / "postgresql.conf"
    original = conf.read_text()
    conf.write_text(original + f"\nrecovery_min_apply_delay = '{seconds}s'\n")
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        conf.write_text(original)
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_reload_conf()")


def read_stream(response) -> str:
    async def collect():
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


def event_kinds(client) -> list[str]:
    response = client.get("/api/v1/events/?page_size=1000")
    assert response.status_code == 200, response.content
    return [e["kind"] for e in response.json()["results"]]


@inner
@both
def test_replica_a_streaming_replica_serves_lag_tolerant_reads(replica_settings, org_a):
    from missionops.models import Event
    from missionops.replicas import REPLICA, choose_alias, replica_reads, replica_state
    from missionops.services import record_event

    record_event(organization=org_a, kind="mode.changed")
    wait_replayed()
    state = replica_state(fresh=True)
    assert state.lag_s == 0 and state.replay_lsn > 0
    assert choose_alias() == REPLICA
    with replica_reads() as alias:
        assert alias == REPLICA
        assert Event.objects.filter(kind="mode.changed").count() == 1
        assert Event.objects.all().db == REPLICA
    assert Event.objects.all().db == DEFAULT_DB_ALIAS  # outside: the primary
    with transaction.atomic():
        assert choose_alias() == DEFAULT_DB_ALIAS  # a transaction reads its own writes


@inner
@both
def test_replica_caught_up_with_the_primary_shows_its_last_commit(replica_settings, org_a):
    """The primary of this run commits asynchronously (synchronous_commit = off, as a server, role
    or transaction may): a commit returns before its commit record is written. A replica that has
    replayed up to the primary's WAL position read right after it must still show it; with the
    write position (pg_current_wal_lsn) it did not, most times, and read-your-writes served the
    writer a replica without their write."""
    from missionops.models import Event
    from missionops.replicas import REPLICA, replica_reads
    from missionops.services import record_event

    for written in range(1, 6):
        record_event(organization=org_a, kind="mode.changed")
        wait_replayed()
        with replica_reads() as alias:
            assert alias == REPLICA
            assert Event.objects.filter(kind="mode.changed").count() == written


@inner
@both
def test_replica_lag_past_the_limit_reads_from_the_primary(replica_settings, org_a):
    from missionops.replicas import REPLICA, choose_alias, replica_state
    from missionops.services import record_event

    replica_settings.REPLICA_MAX_LAG_S = 1.0
    wait_replayed()
    pause_replay()
    record_event(organization=org_a, kind="alarm.raised")  # received by the replica, not replayed
    time.sleep(1.5)
    state = replica_state(fresh=True)
    assert state.lag_s is not None and state.lag_s > 1.0
    assert choose_alias() == DEFAULT_DB_ALIAS
    resume_replay()
    wait_replayed()
    assert replica_state(fresh=True).lag_s == 0
    assert choose_alias() == REPLICA


@inner
@both
def test_replica_read_your_writes_for_the_writer_only(replica_settings, api, owner, viewer, org_a):
    wait_replayed()
    with replay_delayed():  # the replica lags (within the limit): it has not replayed what follows
        response = api(owner).post(
            "/api/v1/webhooks/", {"name": "ops", "url": "http://127.0.0.1:9/hook", "event_kinds": ["*"]}, format="json"
        )
        assert response.status_code == 201, response.content
        # The writer reads the primary (its write is not on the replica yet): its event is there.
        assert "webhook.created" in event_kinds(api(owner))
        # A teammate who wrote nothing reads the lagging replica: the event is not there yet.
        assert "webhook.created" not in event_kinds(api(viewer))
    wait_replayed()
    assert "webhook.created" in event_kinds(api(viewer))
    assert "webhook.created" in event_kinds(api(owner))


@inner
@both
def test_replica_series_and_exports_read_the_replica(replica_settings, api, viewer, sc_a, org_a):
    from missionops.replicas import REPLICA, choose_alias
    from spacecraft.models import Spacecraft
    from telemetry.services import ingest

    epoch = datetime(2026, 1, 1, tzinfo=UTC)

    def store(first_s: int) -> None:
        batch = [
            {"spacecraft": "SC-001", "timestamp": (epoch + timedelta(seconds=first_s + i)).isoformat(),
             "parameters": {"bus_voltage": 28.0}}
            for i in range(10)
        ]  # fmt: skip
        ingest(snapshots=batch, scope=Spacecraft.objects.filter(organization=org_a))

    store(0)
    wait_replayed()
    query = f"spacecraft=SC-001&parameter=bus_voltage&start={epoch:%Y-%m-%dT%H:%M:%SZ}&end=2026-01-01T00:01:00Z"
    with replay_delayed():
        store(10)  # on the primary only, for now
        assert choose_alias(user=viewer) == REPLICA
        series = api(viewer).get(f"/api/v1/telemetry/series/?{query}&max_points=100")
        assert series.status_code == 200, series.content
        assert sum(series.json()["count"]) == 10  # what the replica has
        export = api(viewer).get(f"/api/v1/telemetry/export/?{query}&parameter=bus_voltage")
        assert export.status_code == 200
        assert len(read_stream(export).splitlines()) == 1 + 10  # header + what the replica has
    wait_replayed()
    series = api(viewer).get(f"/api/v1/telemetry/series/?{query}&max_points=100")
    assert sum(series.json()["count"]) == 20


@inner
@both
def test_replica_alarm_kpis_read_the_replica(replica_settings, api, viewer, sc_a, org_a):
    from django.utils import timezone

    from anomalies.models import Anomaly
    from telemetry.models import ParameterDefinition

    definition, _ = ParameterDefinition.objects.get_or_create(
        spacecraft=sc_a, name="kpi_probe", defaults={"type": "float", "subsystem": "power"}
    )
    wait_replayed()
    url = "/api/v1/anomalies/kpis/"
    assert api(viewer).get(url).json()["new_alarms"] == 0
    with replay_delayed():
        now = timezone.now()
        Anomaly.objects.create(
            organization=org_a, spacecraft=sc_a, parameter=definition, parameter_name="kpi_probe",
            subsystem="power", detector="limit", detectors=[], threshold="warn_high", message="probe",
            started_at=now, detected_at=now, last_seen_at=now,
        )  # fmt: skip
        answer = api(viewer).get(url)
        assert answer.status_code == 200, answer.content
        assert answer.json()["new_alarms"] == 0  # the replica has not replayed it yet
    wait_replayed()
    assert api(viewer).get(url).json()["new_alarms"] == 1


@inner
@both
def test_replica_down_reads_fall_back_to_the_primary(replica_settings, api, viewer, org_a):
    from missionops.replicas import REPLICA, choose_alias, replica_state
    from missionops.services import record_event

    record_event(organization=org_a, kind="pass.started")
    wait_replayed()
    data = Path(os.environ["MO_REPLICA_PGDATA"])
    port = connections["replica"].settings_dict["PORT"]
    replica_settings.REPLICA_STATE_TTL_S = 600  # the last reading (healthy) is still trusted...
    assert choose_alias(user=viewer) == REPLICA
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT 1")  # ...and a connection to it is open
    stop_cluster(data, "immediate")  # as a crashed replica host
    try:
        # The read fails on the replica and is run again on the primary; the replica is marked down.
        assert "pass.started" in event_kinds(api(viewer))
        assert replica_state().lag_s is None
        assert choose_alias(user=viewer) == DEFAULT_DB_ALIAS
        assert replica_state(fresh=True).lag_s is None
    finally:
        start_cluster(data, int(port), data.parent / "replica.log")
    wait_replayed(timeout_s=60)
    assert replica_state(fresh=True).lag_s is not None
    assert choose_alias(user=viewer) == REPLICA
