import asyncio
import contextlib
import datetime as dt
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from missionops.live import group_name
from telemetry import live_values, representations, selectors, services

from .conftest import iso

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_live_pushes_are_coalesced_and_the_last_value_arrives(sc_a, operator, now_minute, settings):
    settings.TELEMETRY_LIVE_INTERVAL_S = 0.25  # wider than a batch takes here, even on a busy machine
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)

    def ingest(i):
        scope, may_write = services.writable_scope_for(operator)
        item = {
            "spacecraft": "SC-001",
            "timestamp": iso(now_minute + dt.timedelta(seconds=i)),
            "parameters": {"battery_soc": float(i)},
        }
        services.ingest(snapshots=[item], scope=scope, may_write=may_write)

    started = time.monotonic()
    for i in range(60):  # ~60 batches as fast as they go: far more than a few per second
        await database_sync_to_async(ingest)(i)
    elapsed = time.monotonic() - started

    messages = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
    telemetry = [m["data"]["data"] for m in messages if m["data"].get("kind") == "telemetry"]
    window = live_values.interval_s()
    assert 1 <= len(telemetry) <= (elapsed + 1.0) / window + 2, (len(telemetry), elapsed)
    assert len(telemetry) < 60
    [last] = telemetry[-1]["values"]
    assert last["parameter"] == "battery_soc" and last["value"] == 59.0  # the trailing flush sent the last one
    assert last["status"] == "nominal"
    await layer.group_discard(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)


async def test_an_isolated_batch_is_pushed_at_once_with_its_commit_time(sc_a, operator, now_minute):
    assert live_values.interval_s() == 0.05  # 20 Hz per topic at most
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)

    def ingest(i):
        scope, may_write = services.writable_scope_for(operator)
        moment = iso(now_minute + dt.timedelta(seconds=i))
        item = {"spacecraft": "SC-001", "timestamp": moment, "parameters": {"battery_soc": 70.0 + i}}
        services.ingest(snapshots=[item], scope=scope, may_write=may_write)

    async def next_telemetry():
        # The same topic carries alarms and commands too; this test is about the telemetry push.
        while True:
            message = (await asyncio.wait_for(layer.receive(channel), timeout=5))["data"]
            if message.get("kind") == "telemetry":
                return message["data"]

    for i in range(3):
        await asyncio.sleep(0.1)  # past the previous window: each batch takes the window itself
        before = time.time()
        await database_sync_to_async(ingest)(i)
        message = await next_telemetry()
        arrived = time.time()
        assert [(row["parameter"], row["value"]) for row in message["values"]] == [("battery_soc", 70.0 + i)]
        assert before <= message["committed_at"] <= arrived
    await layer.group_discard(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)


async def test_a_burst_within_one_window_ends_with_its_last_value(sc_a, operator, now_minute):
    """Two processes' worth of offers in one window: the second waits for the window's end (the
    trailing flush, on a timer thread that opens no database connection) and is not lost."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)
    definition = await database_sync_to_async(lambda: selectors.parameter_of(sc_a, "battery_soc"))()
    for value in (1.0, 2.0):
        row = representations.latest_row(selectors.latest_row(definition, value, now_minute, now_minute))
        live_values.offer(spacecraft=sc_a, values={"battery_soc": row})
    first = (await asyncio.wait_for(layer.receive(channel), timeout=5))["data"]["data"]
    second = (await asyncio.wait_for(layer.receive(channel), timeout=5))["data"]["data"]
    assert [first["values"][0]["value"], second["values"][0]["value"]] == [1.0, 2.0]
    assert second["committed_at"] >= first["committed_at"]
    await layer.group_discard(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)
