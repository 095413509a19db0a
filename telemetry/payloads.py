"""Decoding of ingest payloads, shared by the REST endpoint, the WebSocket and the MQTT bridge:
a JSON list of snapshots, a single JSON snapshot, or NDJSON (one snapshot per line)."""

import json

from django.conf import settings

from .exceptions import PayloadTooLarge, TelemetryInputError

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


def max_body_bytes() -> int:
    return getattr(settings, "TELEMETRY_MAX_BODY_BYTES", 8 * 1024 * 1024)


def check_size(size: int) -> None:
    limit = max_body_bytes()
    if size > limit:
        raise PayloadTooLarge(f"body of {size} bytes exceeds the limit of {limit} bytes", field="body")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _loads(text):
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def decode(body: bytes | str, *, ndjson: bool = False) -> list:
    """Snapshots from a body; TelemetryInputError names the item (NDJSON: the line, from 0)."""
    check_size(len(body))
    if ndjson:
        snapshots = []
        lines = body.splitlines() if isinstance(body, str) else body.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                snapshots.append(_loads(line))
            except ValueError as error:
                raise TelemetryInputError(f"not JSON: {error}", index=len(snapshots)) from None
        return snapshots
    try:
        data = _loads(body)
    except ValueError as error:
        raise TelemetryInputError(f"body is not JSON: {error}") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise TelemetryInputError("body must be a snapshot object or a list of snapshots")
    return data
