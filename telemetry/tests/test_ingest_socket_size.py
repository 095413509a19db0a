"""The documented frame size through a real daphne started as the Procfile starts it: 8 MiB frames
reach the consumer (daphne's own default drops anything over 1 MiB without a close frame)."""

import json

import pytest
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from telemetry import payloads

from .test_ingest import batch, count_samples


@pytest.mark.django_db(transaction=True)
def test_an_8_mib_frame_is_taken_and_a_larger_one_answered_413(live_server_daphne, operator, sc_a, now_minute):
    token = Token.objects.create(user=operator).key
    limit = payloads.max_body_bytes()
    assert limit == 8 * 1024 * 1024
    url = live_server_daphne.replace("http://", "ws://") + f"/ws/ingest/?token={token}"
    with connect(url, max_size=None, open_timeout=30) as socket:
        body = json.dumps(batch(sc_a, now_minute))
        socket.send(body + " " * (limit - len(body)))  # valid JSON of exactly 8 MiB
        ack = json.loads(socket.recv(timeout=60))
        assert (ack["type"], ack["stored"]) == ("ack", 9), ack
        socket.send(b" " * (limit + 1))
        error = json.loads(socket.recv(timeout=60))
        assert (error["type"], error["status"], error["field"]) == ("error", 413, "body"), error
        socket.send(json.dumps(batch(sc_a, now_minute)))  # still open
        assert json.loads(socket.recv(timeout=60))["duplicates"] == 9
    assert count_samples(sc_a) == 9
