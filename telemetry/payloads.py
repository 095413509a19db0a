"""Decoding of ingest payloads, shared by the REST endpoint, the WebSocket and the MQTT bridge:
a JSON list of snapshots, a single JSON snapshot, NDJSON (one snapshot per line), or the same list
or snapshot in MessagePack (for large batches: no text to scan, numbers as binary, times as
MessagePack timestamps or ISO 8601 strings)."""

import contextlib
import json

import msgpack
import orjson
from django.conf import settings

from .exceptions import PayloadTooLarge, TelemetryInputError

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
CONTENT_TYPES = (*JSON_TYPES, *NDJSON_TYPES, *MSGPACK_TYPES)


def max_body_bytes() -> int:
    return settings.TELEMETRY_MAX_BODY_BYTES


def check_size(size: int) -> None:
    limit = max_body_bytes()
    if size > limit:
        raise PayloadTooLarge(f"body of {size} bytes exceeds the limit of {limit} bytes", field="body")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _loads(text):
    """orjson (about 3× the standard library); whatever it refuses is decoded again by the standard
    library, which accepts what JSON allows beyond orjson (integers past 64 bits, reported later
    naming their field; lone surrogate escapes) and words the errors."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def decode(body: bytes | str, *, ndjson: bool = False) -> list:
    """Snapshots from a JSON or NDJSON body; TelemetryInputError names the item (NDJSON: its
    physical line, from 1)."""
    if ndjson:
        return decode_ndjson(body)[0]
    return as_batch(_decode_json(body))


def decode_as(body: bytes, content_type: str) -> tuple[list, list[int] | None]:
    """Snapshots from a body of one of CONTENT_TYPES, and for NDJSON the physical line (from 1) of
    each snapshot, for naming_lines."""
    if content_type in NDJSON_TYPES:
        return decode_ndjson(body)
    if content_type in MSGPACK_TYPES:
        return as_batch(decode_msgpack(body)), None
    return as_batch(_decode_json(body)), None


def _decode_json(body):
    check_size(len(body))
    try:
        return _loads(body)
    except ValueError as error:
        raise TelemetryInputError(f"body is not JSON: {error}") from None


def decode_msgpack(body: bytes):
    """One MessagePack object; its timestamps (extension -1) become UTC datetimes."""
    check_size(len(body))
    try:
        return msgpack.unpackb(body, raw=False, timestamp=3, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException) as error:
        raise TelemetryInputError(f"body is not MessagePack: {error}") from None


def as_batch(data) -> list:
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise TelemetryInputError("body must be a snapshot object or a list of snapshots")
    return data


def decode_ndjson(body: bytes | str) -> tuple[list, list[int]]:
    """One snapshot per non-blank line, and the physical line number (from 1, blank lines counted)
    of each; a line that is not JSON is reported by its number."""
    check_size(len(body))
    snapshots, lines = [], []
    for number, line in enumerate(body.splitlines() if isinstance(body, str) else body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            snapshots.append(_loads(line))
        except ValueError as error:
            raise TelemetryInputError(f"not JSON: {error}", line=number) from None
        lines.append(number)
    return snapshots, lines


@contextlib.contextmanager
def naming_lines(lines: list[int] | None):
    """Errors raised inside about item i name NDJSON line lines[i] instead (None: unchanged)."""
    try:
        yield
    except TelemetryInputError as error:
        if lines is None or error.index is None or error.index >= len(lines):
            raise
        raise error.on_line(lines[error.index]) from None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()
