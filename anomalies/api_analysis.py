"""REST API for the read-only analysis of recent telemetry: detector findings on a spacecraft,
and one parameter's time-to-limit forecast (what the telemetry chart draws dashed)."""

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import validated_query
from spacecraft.selectors import spacecraft_visible_to
from telemetry.models import ParameterDefinition

from . import analysis
from .models import DetectorKind, Severity
from .services.detector_runs import current_specs, spec_of
from .services.recording import Target


class FindingSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    subsystem = serializers.CharField()
    detector = serializers.ChoiceField(choices=DetectorKind.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    threshold = serializers.CharField()
    threshold_value = serializers.FloatField(allow_null=True)
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    peak_value = serializers.FloatField(allow_null=True)
    peak_at = serializers.DateTimeField(allow_null=True)
    sample_count = serializers.IntegerField()


class SpacecraftQuery(serializers.Serializer):
    spacecraft = serializers.CharField(help_text="id or designation")


class AnalyzeQuery(SpacecraftQuery):
    limit = serializers.IntegerField(default=1000, min_value=1, max_value=100_000, help_text="samples per parameter")


class ForecastQuery(SpacecraftQuery):
    parameter = serializers.CharField()


class AnalysisSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    mode = serializers.CharField()
    samples = serializers.IntegerField()
    parameters = serializers.IntegerField()
    findings = FindingSerializer(many=True)


class AnalyzeView(APIView):
    """Run every detector over recent telemetry of one spacecraft; records nothing."""

    @extend_schema(
        summary="Detector findings on a spacecraft's recent telemetry (not persisted)",
        parameters=[AnalyzeQuery],
        responses={200: AnalysisSerializer, 400: None, 404: None},
    )
    def get(self, request):
        q = validated_query(AnalyzeQuery, request)
        spacecraft = _visible_spacecraft(request.user, q["spacecraft"])
        return Response(analysis.analyze(spacecraft=spacecraft, limit=q["limit"]))


class ForecastSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    units = serializers.CharField()
    fitted_at = serializers.DateTimeField()
    fitted_value = serializers.FloatField()
    slope_per_s = serializers.FloatField()
    significant = serializers.BooleanField()
    limit_name = serializers.CharField(allow_null=True)
    limit = serializers.FloatField(allow_null=True)
    crosses_at = serializers.DateTimeField(allow_null=True)
    warns = serializers.BooleanField()
    window_s = serializers.FloatField()
    horizon_s = serializers.FloatField()
    projection = serializers.ListField(child=serializers.DictField(), help_text="two points: now, and the limit")


class ForecastView(APIView):
    """The time-to-limit forecast of one parameter now: what the telemetry chart draws dashed."""

    @extend_schema(
        summary="Time-to-limit forecast of one parameter (robust linear fit over its recent window)",
        parameters=[ForecastQuery],
        responses={200: ForecastSerializer, 204: None, 400: None, 404: None},
    )
    def get(self, request):
        q = validated_query(ForecastQuery, request)
        spacecraft = _visible_spacecraft(request.user, q["spacecraft"])
        definition = ParameterDefinition.objects.filter(spacecraft=spacecraft, name=q["parameter"]).first()
        if definition is None:
            raise Http404("no such parameter")
        specs = current_specs([spacecraft.pk]).get(spacecraft.pk, {})
        target = Target(definition=definition, spacecraft=spacecraft, spec=spec_of(definition=definition, specs=specs))
        found = analysis.forecast_now(target=target)
        if found is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ForecastSerializer(found).data)


def _visible_spacecraft(user, ref: str):
    """The spacecraft `ref` names (id or designation) among those the user sees."""
    scope = spacecraft_visible_to(user)
    try:
        matches = list(scope.filter(pk=uuid.UUID(ref)))
    except ValueError:
        matches = list(scope.filter(designation=ref))
    if len(matches) != 1:
        raise Http404("no such spacecraft")
    return matches[0]
