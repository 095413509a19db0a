"""WebSocket ingest at /ws/ingest/ (token or session auth): every text frame is one batch, in the
same payloads as the REST endpoint (a JSON list, one snapshot, or NDJSON lines), or an envelope
`{"id": <anything>, "snapshots": [...]}`; binary frames must be UTF-8. The reply is an ack with the
counts, or an error naming the item index and field (status 500 for a failure of ours); either
way the socket stays open. Frames are handled in order, one at a time."""

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from missionops.auth import socket_scope_allows
from missionops.exceptions import DomainError

from . import payloads, services
from .exceptions import TelemetryInputError
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
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        self.batches += 1
        batch_id = self.batches
        try:
            body = text_data if text_data is not None else _text(bytes_data)
            snapshots, batch_id = self._decode(body, batch_id)
            result = await self._ingest(snapshots)
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
            envelope = payloads.decode(body)[0]
            if "snapshots" in envelope:
                batch_id = envelope.get("id", batch_id)
                snapshots = envelope["snapshots"]
                return (snapshots if isinstance(snapshots, list) else [snapshots]), batch_id
            return [envelope], batch_id
        if stripped == "[":
            return payloads.decode(body), batch_id
        return payloads.decode(body, ndjson=True), batch_id

    @database_sync_to_async
    def _ingest(self, snapshots):
        scope, may_write = services.writable_scope_for(self.user)
        return services.ingest(snapshots=snapshots, scope=scope, may_write=may_write, interface=Interface.WEBSOCKET)


def _text(frame: bytes | None) -> str:
    try:
        return (frame or b"").decode()
    except UnicodeDecodeError as error:
        raise TelemetryInputError(f"a binary frame must be UTF-8 JSON; byte {error.start} is not UTF-8") from None
