"""The schema as the API behaves: the error answers every operation can give, written once (a
drf-spectacular postprocessing hook) instead of on each view, with the body the exception handler
(`missionops.api.exception_handler`) really sends; and JSON as the body of every operation that
reads JSON and uploads no file.

Form bodies are still parsed (the browsable API posts them) but not documented: DRF reads a form's
empty value as "not given" and a form cannot say null, so the same rules would answer differently
to the same schema in two encodings."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

FORM_MEDIA_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
ANY_BUT_NULL = [
    {"type": "object", "additionalProperties": True},
    {"type": "array", "items": {}},
    {"type": "string"},
    {"type": "number"},
    {"type": "boolean"},
]


# The API's areas, one per app (the schema's tags, in this order): ReDoc shows one at a time.
API_AREAS = {
    "spacecraft": ("spacecraft", "Spacecraft, constellations, configuration, commands and documents."),
    "telemetry": ("telemetry", "Ingest, parameter definitions, latest values and series."),
    "anomalies": ("alarms", "Alarms, their workflow, limit sets, KPIs and analysis."),
    "orbits": ("orbits", "Element sets, ground stations, passes, contact plans, positions, conjunctions."),
    "planning": ("planning", "Imaging requests and mission plans."),
    "jobs": ("jobs", "The GPU job queue, templates, tile inputs, GPUs and usage."),
    "telescopes": ("telescopes", "Observatories, Alpaca devices, operations and observation sessions."),
    "missionops": ("platform", "Organizations, events, API keys and webhooks."),
}
AREA_TAGS = [tag for tag, _ in API_AREAS.values()]


class AutoSchema(SpectacularAutoSchema):
    def get_tags(self):
        """The operation's area: the app its view belongs to."""
        app = type(self.view).__module__.split(".")[0]
        return [API_AREAS.get(app, API_AREAS["missionops"])[0]]

    def map_parsers(self):
        media_types = super().map_parsers()
        if "application/json" in media_types and not self._uploads_files():
            return [media_type for media_type in media_types if media_type not in FORM_MEDIA_TYPES]
        return media_types

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        # What DRF refuses and drf-spectacular leaves out: an empty list where allow_empty is off, an
        # empty string for a related object (DRF reads it as null), null for a JSON field without
        # allow_null, a string of only whitespace where blank is refused.
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or "$ref" in schema:
            return schema
        if schema.get("type") == "array" and getattr(field, "allow_empty", True) is False:
            schema.setdefault("minItems", 1)
        elif isinstance(field, serializers.RelatedField) and schema.get("type") == "string":
            schema.setdefault("minLength", 1)
        elif isinstance(field, serializers.JSONField) and not field.allow_null and not schema:
            schema = {"anyOf": ANY_BUT_NULL}
        elif (
            isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and not {"format", "pattern", "enum"} & schema.keys()
        ):
            schema["pattern"] = r"\S"  # DRF trims the value, then refuses it blank
        return schema

    def _uploads_files(self) -> bool:
        serializer = force_instance(self.get_request_serializer())
        fields = getattr(serializer, "fields", None) or {}
        return any(isinstance(field, serializers.FileField) for field in fields.values())


ERROR = {
    "type": "object",
    "description": (
        "`detail`: one sentence; on bad input also `field` (the first input at fault) and, next to "
        "it, DRF's messages per field (`errors` for domain errors)."
    ),
    "properties": {
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail"],
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITES = {"post", "put", "patch", "delete"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}

# status: (description, applies(method, path, operation))
ERROR_RESPONSES = {
    "400": ("Bad input: a query parameter, path segment or body the API refuses, named in `field`", None),
    "401": ("No credentials, or credentials that are not valid (an unknown or revoked key)", None),
    "403": ("Signed in, but the role or key scope does not allow this here (the message names what would)", None),
    "404": ("Nothing the caller may see has that id", lambda method, path, op: "{" in path),
    "409": ("The request clashes with the current state or existing data", lambda method, path, op: method in WRITES),
    "413": (
        "Request body larger than the configured limit",
        lambda method, path, op: "requestBody" in op,
    ),
    "415": ("Body in a media type this operation does not read", lambda method, path, op: "requestBody" in op),
    "429": ("Rate limit or quota reached; `Retry-After` says when to try again", None),
    "503": ("Database briefly unavailable; `Retry-After` says when to try again", None),
}


def add_error_responses(result, generator, request, public):
    """Adds to every operation the error statuses it can answer that its view did not declare,
    each with the `Error` body. A status the view declared keeps the view's description and body.
    Also names the areas (tags) with their descriptions, in API_AREAS' order."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    result["tags"] = [{"name": tag, "description": text} for tag, text in API_AREAS.values()]
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, applies) in ERROR_RESPONSES.items():
                if applies is not None and not applies(method, path, operation):
                    continue
                declared = responses.get(status)
                if declared is None:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
                elif "content" not in declared:  # declared with a description only: the body is still ours
                    declared["content"] = {"application/json": {"schema": ERROR_REF}}
    return result
