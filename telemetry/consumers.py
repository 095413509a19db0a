"""WebSocket ingest at /ws/ingest/ (token or session auth): every frame is one batch, in the same
payloads as the REST endpoint (a JSON list, one snapshot, or NDJSON lines), or an envelope
`{"id": <anything>, "snapshots": [...]}`. Text frames are JSON or NDJSON; binary frames are UTF-8
JSON, or MessagePack when the socket was opened with `?content_type=application/msgpack`. A frame
may hold up to TELEMETRY_MAX_BODY_BYTES (8 MiB; daphne is started to accept twice that, so a larger
frame still gets its error). The reply is an ack with the counts, or an error naming the item index
(NDJSON: the physical line) and field (413 over the size limit, 500 for a failure of ours); either
way the socket stays open. Frames are handled in order, one at a time."""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from missionops.exceptions import DomainError
from missionops.socket_auth import socket_scope_allows

from . import payloads, services
from .exceptions import PayloadTooLarge, TelemetryInputError
from .models import Interface

logger = logging.getLogger(__name__)


class IngestConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        if not self.user or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        if not socket_scope_allows(self.scope, "ingest"):
            await self.close(code=4403)
            return
        self.batches = 0
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.binary_type = payloads.media_type((query.get("content_type") or ["application/json"])[0])
        if self.binary_type not in (*payloads.JSON_TYPES, *payloads.MSGPACK_TYPES):
            await self.accept()
            await self.close(code=4415, reason="content_type: application/json or application/msgpack")
            return
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        self.batches += 1
        batch_id = self.batches
        try:
            _check_frame_size(text_data, bytes_data)
            if text_data is None and self.binary_type in payloads.MSGPACK_TYPES:
                (snapshots, batch_id), lines = _unwrap(payloads.decode_msgpack(bytes_data), batch_id), None
            else:
                body = text_data if text_data is not None else _text(bytes_data)
                snapshots, batch_id, lines = self._decode(body, batch_id)
            result = await self._ingest(snapshots, lines)
        except DomainError as error:
            reply = {"type": "error", "id": batch_id, "status": error.status_code, "detail": error.message}
            if error.field:
                reply["field"] = error.field
            await self.send(json.dumps(reply))
            return
        except Exception as error:  # one frame's failure must not close a socket that later batches use
            logger.exception("WebSocket ingest: batch %s failed unexpectedly", batch_id)
            detail = f"internal error ({type(error).__name__}); nothing of this batch was stored"
            reply = {"type": "error", "id": batch_id, "status": 500, "detail": detail}
            await self.send(json.dumps(reply))
            return
        await self.send(json.dumps({"type": "ack", "id": batch_id, **result.as_dict()}))

    def _decode(self, body: str, batch_id):
        stripped = body.lstrip()[:1]
        if stripped == "{" and "\n" not in body.strip():
            return (*_unwrap(payloads.decode(body)[0], batch_id), None)
        if stripped == "[":
            return payloads.decode(body), batch_id, None
        snapshots, lines = payloads.decode_ndjson(body)
        return snapshots, batch_id, lines

    @database_sync_to_async
    def _ingest(self, snapshots, lines):
        scope, may_write = services.writable_scope_for(self.user)
        with payloads.naming_lines(lines):
            return services.ingest(snapshots=snapshots, scope=scope, may_write=may_write, interface=Interface.WEBSOCKET)


def _unwrap(data, batch_id):
    """(snapshots, batch id) of an envelope `{"id", "snapshots"}`, a snapshot or a list."""
    if isinstance(data, dict) and "snapshots" in data:
        snapshots, given = data["snapshots"], data.get("id", batch_id)
        try:  # the reply echoes it as JSON (MessagePack can send bytes or a timestamp)
            json.dumps(given)
        except (TypeError, ValueError):
            raise TelemetryInputError(
                "the envelope's id must be JSON: a string, a number, a list or an object"
            ) from None
        return (snapshots if isinstance(snapshots, list) else [snapshots]), given
    return payloads.as_batch(data), batch_id


def _check_frame_size(text_data: str | None, bytes_data: bytes | None) -> None:
    limit = payloads.max_body_bytes()
    if text_data is not None:
        # A character is 1 to 4 bytes: encode only when the count alone cannot tell.
        size = len(text_data) if len(text_data) * 4 <= limit else len(text_data.encode())
    else:
        size = len(bytes_data or b"")
    if size > limit:
        raise PayloadTooLarge(f"frame of {size} bytes exceeds the limit of {limit} bytes", field="body")


def _text(frame: bytes | None) -> str:
    try:
        return (frame or b"").decode()
    except UnicodeDecodeError as error:
        raise TelemetryInputError(f"a binary frame must be UTF-8 JSON; byte {error.start} is not UTF-8") from None
