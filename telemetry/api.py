"""Telemetry REST API: ingest (JSON / NDJSON), series, latest values, parameters, CSV export."""

import csv
import datetime as dt
import io

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import UTCDateTimeField, validated_query
from missionops.replicas import choose_alias, read_lag_tolerant

from . import payloads, representations, selectors, services
from .exceptions import PayloadTooLarge
from .models import Interface, ParameterDefinition


class NDJSONParser(BaseParser):
    """Declares NDJSON for the schema; the ingest view decodes bodies itself (size limit first)."""

    media_type = "application/x-ndjson"


class MessagePackParser(BaseParser):
    """Declares MessagePack for the schema; the ingest view decodes bodies itself."""

    media_type = "application/msgpack"


class SnapshotSerializer(serializers.Serializer):
    spacecraft = serializers.CharField(help_text="The spacecraft's id (UUID) or designation.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset, e.g. 2026-01-01T00:00:00Z.")
    parameters = serializers.DictField(help_text="name -> number, true/false or enum string")


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    registered = serializers.ListField(child=serializers.CharField(), help_text="new undeclared parameters")
    spacecraft = serializers.ListField(child=serializers.CharField())


ERROR = inline_serializer(
    "TelemetryError",
    {"detail": serializers.CharField(), "field": serializers.CharField(required=False)},
)


class IngestView(APIView):
    parser_classes = [JSONParser, NDJSONParser, MessagePackParser]
    required_scope = "ingest"  # API keys: ingest-only keys may post here and nowhere else

    @extend_schema(
        summary="Ingest a batch of telemetry snapshots (JSON list, NDJSON or MessagePack), all or nothing",
        description=(
            "Each snapshot: spacecraft (id or designation), timestamp (ISO 8601 with offset), parameters. "
            "The format follows Content-Type: application/json, application/x-ndjson (one snapshot per "
            "line) or application/msgpack (the same list or object in MessagePack; timestamps as ISO 8601 "
            "strings or MessagePack timestamps). "
            "A re-sent batch stores nothing twice (`duplicates`). Oversized body: 413 naming the limit. "
            "Any invalid item: 400 naming `items[<index>].<field>` (NDJSON: `lines[<line from 1>].<field>`, "
            "blank lines counted); nothing is written. "
            "Writing needs the operator role on the spacecraft (403)."
        ),
        request={
            "application/json": SnapshotSerializer(many=True),
            "application/x-ndjson": SnapshotSerializer,
            "application/msgpack": SnapshotSerializer(many=True),
        },
        responses={200: IngestResultSerializer, 400: ERROR, 403: ERROR, 413: ERROR, 415: ERROR},
        examples=[
            OpenApiExample(
                "snapshot",
                value=[
                    {
                        "spacecraft": "SC-001",
                        "timestamp": "2026-01-01T00:00:00Z",
                        "parameters": {"battery_soc": 87.5, "imaging_mode": "IDLE"},
                    }
                ],
                request_only=True,
            )
        ],
    )
    def post(self, request):
        content_type = payloads.media_type(request.content_type)
        if content_type not in payloads.CONTENT_TYPES:
            raise UnsupportedMediaType(
                content_type, detail="send application/json, application/x-ndjson or application/msgpack"
            )
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        payloads.check_size(declared)
        limit = payloads.max_body_bytes()
        body = request._request.read(limit + 1)  # not .body: our own limit, not DATA_UPLOAD_MAX_MEMORY_SIZE
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes", field="body")
        snapshots, lines = payloads.decode_as(body, content_type)
        scope, may_write = services.writable_scope_for(request.user)
        with payloads.naming_lines(lines):
            result = services.ingest(snapshots=snapshots, scope=scope, may_write=may_write, interface=Interface.REST)
        return Response(result.as_dict())


class SpacecraftQuery(serializers.Serializer):
    spacecraft = serializers.CharField(help_text="id (UUID) or designation")


class SeriesQuery(SpacecraftQuery):
    parameter = serializers.CharField()
    start = UTCDateTimeField(required=False, help_text="default: end - 1 hour")
    end = UTCDateTimeField(required=False, help_text="default: now")
    max_points = serializers.IntegerField(min_value=2, max_value=selectors.MAX_POINTS_LIMIT, default=1000)

    def validate(self, attrs):
        attrs.setdefault("end", timezone.now())
        if "start" not in attrs:
            try:
                attrs["start"] = attrs["end"] - dt.timedelta(hours=1)
            except OverflowError:
                message = "lies in the first hour of year 1, so start (end - 1 hour) cannot default; give start"
                raise serializers.ValidationError({"end": [message]}) from None
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["must be after start"]})
        return attrs


class SeriesSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    parameter = serializers.CharField()
    units = serializers.CharField()
    type = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bucket_s = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["raw", "rollup"])
    level = serializers.ChoiceField(
        choices=["raw", "minute", "hour"], help_text="raw rows, minute roll-ups or hour roll-ups (by bucket width)"
    )
    fallback = serializers.CharField(
        help_text="why a coarser level than the bucket width asks for is shown (raw rows expired), else empty"
    )
    t = serializers.ListField(child=serializers.DateTimeField(), help_text="bucket starts")
    min = serializers.ListField(child=serializers.FloatField())
    max = serializers.ListField(child=serializers.FloatField())
    avg = serializers.ListField(child=serializers.FloatField())
    count = serializers.ListField(child=serializers.IntegerField())


class SeriesView(APIView):
    @extend_schema(
        summary="Downsampled series of one parameter: at most max_points buckets of min/max/avg/count",
        parameters=[SeriesQuery],
        responses={200: SeriesSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request):
        q = validated_query(SeriesQuery, request)
        spacecraft = selectors.spacecraft_for(request.user, q["spacecraft"])
        definition = selectors.parameter_of(spacecraft, q["parameter"])
        data = read_lag_tolerant(
            lambda: selectors.series(definition=definition, start=q["start"], end=q["end"], max_points=q["max_points"]),
            user=request.user,
        )
        return Response(SeriesSerializer(data).data)


class LatestView(APIView):
    @extend_schema(
        summary="Latest value of every parameter of a spacecraft, with status, age and the ingest rate",
        parameters=[SpacecraftQuery],
        responses={
            200: inline_serializer(
                "LatestValues",
                {
                    "spacecraft": serializers.UUIDField(),
                    "designation": serializers.CharField(),
                    "rate": serializers.DictField(help_text="samples/s: total and by_interface"),
                    "values": representations.LatestSerializer(many=True),
                },
            ),
            404: ERROR,
        },
    )
    def get(self, request):
        q = validated_query(SpacecraftQuery, request)
        spacecraft = selectors.spacecraft_for(request.user, q["spacecraft"])
        from .live_values import ingest_rates

        rows = [representations.latest_row(row) for row in selectors.latest_values(spacecraft=spacecraft)]
        return Response(
            representations.latest_values(spacecraft=spacecraft, rate=ingest_rates(spacecraft.pk), rows=rows)
        )


class ParameterDefinitionSerializer(serializers.ModelSerializer):
    enum_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="An enum's stored values (series min/max/avg) are indices into this list, which only grows.",
    )

    class Meta:
        model = ParameterDefinition
        fields = [
            "id",
            "name",
            "subsystem",
            "units",
            "type",
            "declared",
            "enum_values",
            "enum_codes",
            "warn_low",
            "warn_high",
            "crit_low",
            "crit_high",
            "expected_interval_s",
            "config_version",
        ]


class ParametersView(APIView):
    @extend_schema(
        summary="Parameter definitions of a spacecraft: declared by its configuration, or undeclared",
        parameters=[SpacecraftQuery],
        responses={200: ParameterDefinitionSerializer(many=True), 404: ERROR},
    )
    def get(self, request):
        q = validated_query(SpacecraftQuery, request)
        spacecraft = selectors.spacecraft_for(request.user, q["spacecraft"])
        return Response(ParameterDefinitionSerializer(selectors.parameters_of(spacecraft), many=True).data)


class ExportQuery(SeriesQuery):
    parameter = serializers.CharField(required=False, help_text="comma-separated names; default: all")
    max_points = None

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["end"] - attrs["start"] > dt.timedelta(days=366):
            raise serializers.ValidationError({"start": ["export at most 366 days at a time"]})
        return attrs


class ExportView(APIView):
    @extend_schema(
        summary="Raw samples of a range as CSV (time, spacecraft, parameter, value), streamed",
        parameters=[ExportQuery],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), 400: ERROR, 404: ERROR},
    )
    def get(self, request):
        q = validated_query(ExportQuery, request)
        spacecraft = selectors.spacecraft_for(request.user, q["spacecraft"])
        definitions = selectors.parameters_of(spacecraft)
        if q.get("parameter"):
            names = [n.strip() for n in q["parameter"].split(",") if n.strip()]
            known = {d.name: d for d in definitions}
            for name in names:
                if name not in known:
                    raise serializers.ValidationError({"parameter": [f"{spacecraft.designation} has no {name!r}"]})
            definitions = [known[n] for n in names]
        filename = f"{spacecraft.designation}_{q['start']:%Y%m%dT%H%M%S}_{q['end']:%Y%m%dT%H%M%S}.csv"
        response = StreamingHttpResponse(
            _csv_stream(spacecraft, definitions, q["start"], q["end"], choose_alias(user=request.user)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


async def _csv_stream(spacecraft, definitions, start, end, using):
    """An async iterator, so daphne streams it chunk by chunk (a sync one would be buffered)."""
    yield "time,spacecraft,parameter,value\r\n"
    chunks = selectors.export_chunks(definitions=definitions, start=start, end=end, using=using)
    next_chunk = sync_to_async(lambda: next(chunks, None))
    while (chunk := await next_chunk()) is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for moment, definition, value in chunk:
            writer.writerow(
                [moment.isoformat(), spacecraft.designation, definition.name, definition.display_value(value)]
            )
        yield buffer.getvalue()
