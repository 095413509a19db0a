import asyncio
import contextlib
import datetime as dt
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from missionops.live import group_name
from telemetry import live, services

from .conftest import iso

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_live_pushes_are_coalesced_and_the_last_value_arrives(sc_a, operator, now_minute):
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
    telemetry = [m["data"] for m in messages if m["data"].get("kind") == "telemetry"]
    window = live.interval_s()
    assert 1 <= len(telemetry) <= (elapsed + 1.0) / window + 2, (len(telemetry), elapsed)
    assert len(telemetry) < 60
    assert telemetry[-1]["values"]["battery_soc"]["value"] == 59.0  # the trailing flush sent the last one
    assert telemetry[-1]["values"]["battery_soc"]["status"] == "nominal"
    await layer.group_discard(group_name(sc_a.organization_id, f"sc.{sc_a.pk}"), channel)
