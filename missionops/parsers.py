"""The API's JSON parser: a size limit (413) and a nesting limit (400), both named in the answer.

Python's json module recurses once per nesting level, so a 2 KB body of `[`×1000 would end in a
RecursionError (a 500); the depth is measured on the raw text before anything is decoded."""

import json

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def nesting_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_depth(text: str) -> None:
    limit = settings.API_MAX_JSON_DEPTH
    # Cheap first: a body without `limit` brackets cannot be nested that deep.
    if text.count("[") + text.count("{") > limit and nesting_depth(text) > limit:
        raise ParseError(f"JSON nested deeper than {limit} levels (the limit is {limit})")


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"request body larger than {limit} bytes (the limit for JSON bodies)")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"JSON body is not valid {encoding}") from error
        check_depth(text)
        try:
            return json.loads(text, parse_constant=self._refuse_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error

    @staticmethod
    def _refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")
