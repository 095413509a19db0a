import datetime as dt
import json

import msgpack
import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from missionops.asgi import application

from .conftest import iso
from .test_ingest import batch, count_samples

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def connect(token=None):
    path = "/ws/ingest/" + (f"?token={token}" if token else "")
    communicator = WebsocketCommunicator(application, path)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.fixture
def token(operator):
    return Token.objects.create(user=operator).key


async def test_ack_per_batch_with_counts_and_idempotency(token, sc_a, now_minute):
    from asgiref.sync import sync_to_async

    communicator, connected, _ = await connect(token)
    assert connected
    await communicator.send_to(text_data=json.dumps({"id": "b1", "snapshots": batch(sc_a, now_minute)}))
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert ack == {
        "type": "ack",
        "id": "b1",
        "received": 9,
        "stored": 9,
        "duplicates": 0,
        "registered": [],
        "spacecraft": ["SC-001"],
    }
    ndjson = "\n".join(json.dumps(s) for s in batch(sc_a, now_minute))
    await communicator.send_to(text_data=ndjson)
    again = json.loads(await communicator.receive_from(timeout=10))
    assert (again["type"], again["id"], again["stored"], again["duplicates"]) == ("ack", 2, 0, 9)
    assert await sync_to_async(count_samples)(sc_a) == 9
    await communicator.disconnect()


async def test_bad_batch_gets_error_naming_item(token, sc_a, now_minute):
    communicator, connected, _ = await connect(token)
    items = batch(sc_a, now_minute)
    items[2]["timestamp"] = iso(now_minute).replace("Z", "")
    await communicator.send_to(text_data=json.dumps(items))
    error = json.loads(await communicator.receive_from(timeout=10))
    assert error["type"] == "error" and error["status"] == 400
    assert error["field"] == "items[2].timestamp"
    await communicator.send_to(text_data="[1, 2")
    assert json.loads(await communicator.receive_from(timeout=10))["type"] == "error"
    await communicator.disconnect()


async def test_anonymous_socket_is_refused(db):
    communicator, connected, code = await connect()
    assert not connected
    assert code == 4401


async def test_foreign_spacecraft_refused_over_socket(sc_a, stranger, now_minute):
    key = (await Token.objects.acreate(user=stranger)).key
    communicator, connected, _ = await connect(key)
    items = [
        {
            "spacecraft": str(sc_a.pk),
            "timestamp": iso(now_minute + dt.timedelta(seconds=1)),
            "parameters": {"battery_soc": 1.0},
        }
    ]
    await communicator.send_to(text_data=json.dumps(items))
    error = json.loads(await communicator.receive_from(timeout=10))
    assert error["field"] == "items[0].spacecraft"
    await communicator.disconnect()


async def test_odd_frames_get_an_error_and_the_socket_stays_open(token, sc_a, now_minute, monkeypatch):
    from asgiref.sync import sync_to_async

    from telemetry import services

    ingest = services.ingest

    def ingest_or_fail(*, snapshots, **kwargs):  # a failure nobody foresaw, for marked batches
        if any(isinstance(s, dict) and s.get("fail") for s in snapshots):
            raise RuntimeError("unforeseen")
        return ingest(snapshots=snapshots, **kwargs)

    monkeypatch.setattr(services, "ingest", ingest_or_fail)
    communicator, connected, _ = await connect(token)
    assert connected
    huge = json.dumps(batch(sc_a, now_minute, n=1)).replace('"battery_soc": 80.0', '"battery_soc": 1' + "0" * 400)
    failing = [{**batch(sc_a, now_minute, n=1)[0], "fail": True}]
    frames = [
        ({"bytes_data": b'{"snapshots": [], "note": "\xff"}'}, 400, "UTF-8"),
        ({"text_data": huge}, 400, "2**53"),
        ({"text_data": "[" * 100_000}, 400, "nested"),
        ({"text_data": json.dumps(failing)}, 500, "RuntimeError"),
    ]
    for frame, status, needle in frames:
        await communicator.send_to(**frame)
        error = json.loads(await communicator.receive_from(timeout=10))
        assert (error["type"], error["status"]) == ("error", status), error
        assert needle in error["detail"]
    await communicator.send_to(bytes_data=json.dumps(batch(sc_a, now_minute)).encode())  # UTF-8 bytes are fine
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert (ack["type"], ack["id"], ack["stored"]) == ("ack", 5, 9)
    assert await sync_to_async(count_samples)(sc_a) == 9
    await communicator.disconnect()


async def test_msgpack_socket_takes_binary_frames_as_messagepack(token, sc_a, now_minute):
    from asgiref.sync import sync_to_async

    communicator = WebsocketCommunicator(application, f"/ws/ingest/?token={token}&content_type=application/msgpack")
    connected, _ = await communicator.connect()
    assert connected
    items = batch(sc_a, now_minute)
    for item in items:
        item["timestamp"] = dt.datetime.fromisoformat(item["timestamp"])
    await communicator.send_to(bytes_data=msgpack.packb({"id": "m1", "snapshots": items}, datetime=True))
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert (ack["type"], ack["id"], ack["stored"]) == ("ack", "m1", 9)
    items[1]["parameters"]["battery_soc"] = "full"
    await communicator.send_to(bytes_data=msgpack.packb(items, datetime=True))
    error = json.loads(await communicator.receive_from(timeout=10))
    assert (error["status"], error["field"]) == (400, "items[1].parameters.battery_soc")
    await communicator.send_to(bytes_data=b"\xc1")
    assert "not MessagePack" in json.loads(await communicator.receive_from(timeout=10))["detail"]
    await communicator.send_to(bytes_data=msgpack.packb({"id": b"\x00", "snapshots": items}, datetime=True))
    error = json.loads(await communicator.receive_from(timeout=10))
    assert (error["status"], error["id"]) == (400, 4) and "envelope's id" in error["detail"]
    later = batch(sc_a, now_minute + dt.timedelta(minutes=1))
    await communicator.send_to(text_data=json.dumps(later))  # text frames stay JSON
    assert json.loads(await communicator.receive_from(timeout=10))["stored"] == 9
    assert await sync_to_async(count_samples)(sc_a) == 18
    await communicator.disconnect()


async def test_unknown_content_type_closes_with_a_reason(token):
    communicator = WebsocketCommunicator(application, f"/ws/ingest/?token={token}&content_type=text/csv")
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(timeout=10)
    assert closed["type"] == "websocket.close" and closed["code"] == 4415
    assert "application/msgpack" in closed["reason"]


async def test_ndjson_frame_errors_name_the_physical_line(token, sc_a, now_minute):
    communicator, connected, _ = await connect(token)
    items = batch(sc_a, now_minute)
    items[1]["timestamp"] = "yesterday"
    lines = [json.dumps(item) for item in items]
    lines.insert(0, "")  # a blank first line: item 1 is on line 3
    await communicator.send_to(text_data="\n".join(lines))
    error = json.loads(await communicator.receive_from(timeout=10))
    assert (error["status"], error["field"]) == (400, "lines[3].timestamp")
    assert error["detail"].startswith("line 3: timestamp:")
    await communicator.disconnect()


async def test_oversized_frame_gets_a_413_and_the_socket_stays_open(token, sc_a, now_minute, settings):
    from asgiref.sync import sync_to_async

    settings.TELEMETRY_MAX_BODY_BYTES = 2000
    communicator, connected, _ = await connect(token)
    body = json.dumps(batch(sc_a, now_minute))
    await communicator.send_to(text_data=body + " " * (2000 - len(body)))  # exactly the limit: taken
    assert json.loads(await communicator.receive_from(timeout=10))["stored"] == 9
    for frame in ({"text_data": " " * 2001}, {"text_data": "é" * 1001}, {"bytes_data": b" " * 2001}):
        await communicator.send_to(**frame)
        error = json.loads(await communicator.receive_from(timeout=10))
        assert (error["type"], error["status"], error["field"]) == ("error", 413, "body"), error
        assert "2000 bytes" in error["detail"]
    later = batch(sc_a, now_minute + dt.timedelta(minutes=1))
    await communicator.send_to(text_data=json.dumps(later))
    assert json.loads(await communicator.receive_from(timeout=10))["stored"] == 9
    assert await sync_to_async(count_samples)(sc_a) == 18
    await communicator.disconnect()
