"""The event outbox and its relay to a real NATS JetStream server (a private nats-server per test)."""

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connections, transaction

from missionops.models import Event, EventOutbox
from missionops.services import event_stream, record_event
from missionops.tasks import relay_events
from missionops.testing import ROOT, free_port, test_database_env, wait_for_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def start_nats(port: int, store_dir) -> subprocess.Popen:
    proc = subprocess.Popen(
        [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc


@pytest.fixture
def nats_url(tmp_path, settings):
    """A JetStream server: TEST_NATS_URL (CI's service container; each test on its own stream and
    subjects) or a private nats-server started here."""
    settings.NATS_STREAM = f"TEST_{uuid.uuid4().hex[:12]}"
    settings.NATS_SUBJECT_PREFIX = f"t{uuid.uuid4().hex[:12]}"
    if os.environ.get("TEST_NATS_URL"):
        settings.NATS_URL = os.environ["TEST_NATS_URL"]
        yield settings.NATS_URL
        return
    if not os.path.exists(NATS_SERVER):
        pytest.fail("nats-server is missing: `make test` installs it (apt-get install nats-server)")
    port = free_port()
    proc = start_nats(port, tmp_path / "js")
    settings.NATS_URL = f"nats://127.0.0.1:{port}"
    try:
        yield settings.NATS_URL
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stream_env(settings) -> dict:
    """The child process's view of the stream settings of this test."""
    return {
        **test_database_env(),
        "NATS_URL": settings.NATS_URL,
        "NATS_STREAM": settings.NATS_STREAM,
        "NATS_SUBJECT_PREFIX": settings.NATS_SUBJECT_PREFIX,
    }


def stream_contents(**kwargs) -> list:
    return list(event_stream.stream_events(start_sequence=1, idle_timeout_s=0.5, **kwargs))


def relay() -> event_stream.RelayResult:
    with event_stream.StreamClient() as client:
        return event_stream.relay_all(client=client)


def test_no_outbox_row_while_the_stream_is_off(org_a, settings):
    settings.NATS_URL = ""
    record_event(organization=org_a, kind="mode.changed")
    assert not EventOutbox.objects.exists()


def test_the_outbox_row_commits_and_rolls_back_with_its_event(org_a, settings):
    settings.NATS_URL = "nats://127.0.0.1:1"  # on; nothing is published here
    event = record_event(organization=org_a, kind="alarm.raised", payload={"n": 1})
    row = EventOutbox.objects.get(event=event)
    assert row.subject == "missionops.org-a.alarm.raised" and row.published_at is None
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(organization=org_a, kind="alarm.cleared")
        raise RuntimeError("the operation that recorded it failed")
    assert not Event.objects.filter(kind="alarm.cleared").exists()
    assert EventOutbox.objects.count() == 1


def test_subject_tokens_are_safe():
    assert event_stream.subject_for(organization_slug="org-a", kind="job.progress") == "missionops.org-a.job.progress"
    assert event_stream.subject_for(organization_slug="o", kind="odd kind.*.>") == "missionops.o.odd_kind._._"
    assert event_stream.subject_for(organization_slug="o", kind="a..b") == "missionops.o.a._.b"


@pytest.mark.django_db(transaction=True)
def test_relay_publishes_each_event_once_in_order_and_consumers_replay(nats_url, org_a, org_b, sc_a, settings):
    first = record_event(organization=org_a, kind="mode.changed", subject=sc_a, payload={"to": "safe"})
    second = record_event(organization=org_a, kind="alarm.raised", payload={"parameter": "bus_voltage"})
    record_event(organization=org_b, kind="mode.changed")
    total = Event.objects.count()  # with the fixtures' own events (spacecraft.created...)
    result = relay()
    assert (result.published, result.duplicates, result.failed) == (total, 0, 0)
    assert not EventOutbox.objects.filter(published_at__isnull=True).exists()
    assert sorted(EventOutbox.objects.values_list("stream_sequence", flat=True)) == list(range(1, total + 1))

    mine = stream_contents(organization_slug="org-a")
    expected = [
        str(pk) for pk in EventOutbox.objects.filter(event__organization=org_a).values_list("event_id", flat=True)
    ]
    assert [m.event["id"] for m in mine] == expected  # outbox order
    assert [m.event["id"] for m in mine][-2:] == [str(first.id), str(second.id)]
    assert mine[-2].subject == f"{settings.NATS_SUBJECT_PREFIX}.org-a.mode.changed"
    assert mine[-2].event["organization"] == "org-a" and mine[-2].event["payload"] == {"to": "safe"}
    assert mine[-2].event["spacecraft"] == str(sc_a.pk)
    # Another organization's events are on their own subjects.
    assert [m.event["kind"] for m in stream_contents(organization_slug="org-b")] == ["mode.changed"]
    # Replay from a sequence, from a time, by kind (exact or prefix).
    from_second = list(
        event_stream.stream_events(organization_slug="org-a", start_sequence=mine[1].sequence, idle_timeout_s=0.5)
    )
    assert [m.sequence for m in from_second] == [m.sequence for m in mine[1:]]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert list(event_stream.stream_events(organization_slug="org-a", start_time=later, idle_timeout_s=0.5)) == []
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    replayed = list(event_stream.stream_events(organization_slug="org-a", start_time=earlier, idle_timeout_s=0.5))
    assert len(replayed) == len(mine)
    assert [m.event["kind"] for m in stream_contents(organization_slug="org-a", kind="alarm.")] == ["alarm.raised"]
    exact = stream_contents(organization_slug="org-a", kind="mode.changed")
    assert [m.event["id"] for m in exact] == [str(first.id)]
    assert relay().published == 0  # nothing pending: nothing sent again


CRASH_AFTER_PUBLISH = textwrap.dedent(
    """
    import os, signal, django
    django.setup()
    from django.db import transaction
    from missionops.services import event_stream
    client = event_stream.StreamClient().connect()
    with transaction.atomic():
        rows = event_stream.claim_pending(limit=100)
        acks = client.publish_rows(rows)
        assert all(not isinstance(a, BaseException) for a in acks), acks
        print(len(rows), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # dies before the rows are marked published
    """
)


@pytest.mark.django_db(transaction=True)
def test_a_relay_killed_between_publish_and_mark_publishes_nothing_twice(nats_url, org_a, settings):
    events = [record_event(organization=org_a, kind="job.finished", payload={"i": i}) for i in range(5)]
    env = stream_env(settings)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_PUBLISH], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert crashed.stdout.strip() == "5"
    assert EventOutbox.objects.filter(published_at__isnull=True).count() == 5  # never marked
    assert len(stream_contents(organization_slug="org-a")) == 5  # but published

    result = relay()  # the next relay sends them again: JetStream drops the copies
    assert (result.published, result.duplicates) == (5, 5)
    in_stream = stream_contents(organization_slug="org-a")
    assert [m.event["id"] for m in in_stream] == [str(e.id) for e in events]
    assert sorted(EventOutbox.objects.values_list("stream_sequence", flat=True)) == [m.sequence for m in in_stream]


@pytest.mark.django_db(transaction=True)
def test_relays_side_by_side_publish_every_event_exactly_once(nats_url, org_a):
    for i in range(60):
        record_event(organization=org_a, kind="log.line", payload={"i": i})
    results = []

    def run():
        try:
            with event_stream.StreamClient() as client:
                results.append(event_stream.relay_outbox(client=client, limit=7))
                results.append(event_stream.relay_all(client=client))
        finally:
            connections.close_all()  # left open, it stays checked out of the pool for the run

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.published for r in results) == 60
    assert sorted(m.event["payload"]["i"] for m in stream_contents(organization_slug="org-a")) == list(range(60))


@pytest.mark.django_db(transaction=True)
def test_nats_down_keeps_events_in_the_outbox_until_it_is_back(tmp_path, settings, org_a):
    port = free_port()
    settings.NATS_URL, settings.NATS_STREAM = f"nats://127.0.0.1:{port}", "TEST_EVENTS"
    settings.NATS_SUBJECT_PREFIX = "missionops"
    record_event(organization=org_a, kind="pass.started")
    with pytest.raises(event_stream.StreamUnavailable):
        event_stream.StreamClient().connect(timeout_s=0.5)
    assert relay_events() == 0  # the beat task logs and leaves them
    assert event_stream.pending_count() == 1
    proc = start_nats(port, tmp_path / "js")
    try:
        assert relay_events() == 1
        assert event_stream.pending_count() == 0
        assert [m.event["kind"] for m in stream_contents(organization_slug="org-a")] == ["pass.started"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_publish_refused_by_the_stream_is_recorded_and_retried(nats_url, org_a, settings):
    record_event(organization=org_a, kind="mode.changed")
    with event_stream.StreamClient() as client:
        EventOutbox.objects.update(subject="elsewhere.org-a.mode.changed")  # not the stream's subjects
        result = event_stream.relay_outbox(client=client)
    assert (result.published, result.failed) == (0, 1)
    row = EventOutbox.objects.get()
    assert row.published_at is None and row.attempts == 1 and row.last_error


@pytest.mark.django_db(transaction=True)
def test_relay_and_tail_commands(nats_url, org_a, org_b):
    for kind in ("mode.changed", "alarm.raised", "alarm.cleared"):
        record_event(organization=org_a, kind=kind)
    record_event(organization=org_b, kind="alarm.raised")
    err = io.StringIO()
    call_command("relay_events", "--once", stderr=err)
    assert f"relayed {Event.objects.count()} event(s)" in err.getvalue()

    out = io.StringIO()
    call_command("tail_events", "--org", "org-a", "--from-sequence", "1", "--count", "3", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["sequence"], line["kind"]) for line in lines] == [
        (1, "mode.changed"),
        (2, "alarm.raised"),
        (3, "alarm.cleared"),
    ]
    out = io.StringIO()
    call_command("tail_events", "--org", "org-a", "--kind", "alarm.", "--since", "2000-01-01T00:00:00Z",
                 "--idle-exit-s", "0.5", stdout=out)  # fmt: skip
    assert [json.loads(line)["kind"] for line in out.getvalue().splitlines()] == ["alarm.raised", "alarm.cleared"]


@pytest.mark.django_db(transaction=True)
def test_tail_follows_events_as_they_are_committed(nats_url, org_a, settings):
    relay_process = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events", "--poll-s", "30"],
        cwd=ROOT,
        env=stream_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "relaying the event outbox" in relay_process.stderr.readline()
        received = []
        tail = threading.Thread(
            target=lambda: received.extend(
                event_stream.stream_events(organization_slug="org-a", idle_timeout_s=8, client=None)
            )
        )
        relay()  # the stream exists before the consumer subscribes for new events only
        tail.start()
        time.sleep(1.0)
        started = time.monotonic()
        record_event(organization=org_a, kind="telescope.status")
        while not received and time.monotonic() - started < 10:
            time.sleep(0.02)
        assert [m.event["kind"] for m in received] == ["telescope.status"]
        assert time.monotonic() - started < 10  # NOTIFY woke the relay, well before its 30 s poll
        tail.join(15)
    finally:
        relay_process.terminate()
        assert relay_process.wait(timeout=10) == 0, relay_process.stderr.read()[-2000:]


def test_tail_events_bad_input(org_a, settings):
    settings.NATS_URL = ""
    with pytest.raises(CommandError, match="NATS_URL"):
        call_command("tail_events", "--org", "org-a")
    settings.NATS_URL = "nats://127.0.0.1:1"
    with pytest.raises(CommandError, match="no organization 'nope'"):
        call_command("tail_events", "--org", "nope")
    with pytest.raises(CommandError, match="--since must be ISO 8601"):
        call_command("tail_events", "--org", "org-a", "--since", "2026-01-01T00:00:00")
    with pytest.raises(CommandError, match="--from-sequence"):
        call_command("tail_events", "--org", "org-a", "--from-sequence", "0")
    with pytest.raises(CommandError, match="NATS at"):
        call_command("tail_events", "--org", "org-a", "--idle-exit-s", "0.2")


@pytest.mark.django_db(transaction=True)
def test_telemetry_is_mirrored_to_a_stream_per_spacecraft_once(nats_url, settings, org_a, sc_a):
    from spacecraft.models import Spacecraft
    from telemetry.services import ingest

    settings.NATS_TELEMETRY_MIRROR = True
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch = [
        {"spacecraft": "SC-001", "timestamp": (epoch + dt.timedelta(seconds=i)).isoformat(),
         "parameters": {"bus_voltage": 28.0 + i}}
        for i in range(3)
    ]  # fmt: skip
    scope = Spacecraft.objects.filter(organization=org_a)
    ingest(snapshots=batch, scope=scope)
    ingest(snapshots=batch, scope=scope)  # re-sent: stored once, mirrored once
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(snapshots=[{**batch[0], "parameters": {"bus_voltage": 1.0}}], scope=scope)
        raise RuntimeError("rolled back: nothing mirrored")
    event_stream.flush_telemetry_mirror()

    async def read(client):
        sub = await client.js.subscribe(
            event_stream.telemetry_subject(organization_slug="org-a", spacecraft_id=sc_a.pk),
            stream=event_stream.telemetry_stream_name(sc_a.pk),
            ordered_consumer=True,
        )
        messages = []
        while True:
            try:
                messages.append(json.loads((await sub.next_msg(timeout=1)).data))
            except Exception:
                return messages

    with event_stream.StreamClient() as client:
        messages = client.run(read(client))
    assert len(messages) == 1
    assert messages[0]["designation"] == "SC-001" and messages[0]["organization"] == "org-a"
    assert [s[0] for s in messages[0]["samples"]] == ["bus_voltage"] * 3
    assert [s[2] for s in messages[0]["samples"]] == [28.0, 29.0, 30.0]
    assert messages[0]["samples"][0][1] == epoch.isoformat()


def test_outbox_admin_lists_rows_read_only(admin_client, org_a, settings):
    settings.NATS_URL = "nats://127.0.0.1:1"
    event = record_event(organization=org_a, kind="mode.changed")
    row = EventOutbox.objects.get(event=event)
    page = admin_client.get("/admin/missionops/eventoutbox/?published_at__isempty=1")
    assert page.status_code == 200 and b"missionops.org-a.mode.changed" in page.content
    assert admin_client.get(f"/admin/missionops/eventoutbox/{row.pk}/change/").status_code == 200
    assert admin_client.get("/admin/missionops/eventoutbox/add/").status_code == 403
    assert admin_client.post(f"/admin/missionops/eventoutbox/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert EventOutbox.objects.filter(pk=row.pk).exists()
