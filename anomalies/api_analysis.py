"""REST API for the read-only analysis of recent telemetry: detector findings on a spacecraft,
and one parameter's time-to-limit forecast (what the telemetry chart draws dashed)."""

import uuid

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from spacecraft.selectors import spacecraft_visible_to
from telemetry.models import ParameterDefinition

from . import analysis
from .detector_runs import current_specs, spec_of
from .exceptions import AnalysisInputError
from .models import DetectorKind, Severity
from .recording import Target


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
        parameters=[
            OpenApiParameter("spacecraft", str, required=True, description="id or designation"),
            OpenApiParameter("limit", int, description="samples per parameter, 1-100000 (default 1000)"),
        ],
        responses={200: AnalysisSerializer, 400: None, 404: None},
    )
    def get(self, request):
        if not request.query_params.get("spacecraft", ""):
            raise AnalysisInputError("required: the spacecraft's id or designation", field="spacecraft")
        try:
            limit = int(request.query_params.get("limit", 1000))
        except ValueError:
            raise AnalysisInputError("limit must be a whole number", field="limit") from None
        if not 1 <= limit <= 100_000:
            raise AnalysisInputError("limit must lie between 1 and 100000", field="limit")
        return Response(analysis.analyze(spacecraft=_visible_spacecraft(request), limit=limit))


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
        parameters=[
            OpenApiParameter("spacecraft", str, required=True, description="id or designation"),
            OpenApiParameter("parameter", str, required=True),
        ],
        responses={200: ForecastSerializer, 204: None, 400: None, 404: None},
    )
    def get(self, request):
        spacecraft = _visible_spacecraft(request)
        name = request.query_params.get("parameter", "")
        if not name:
            raise AnalysisInputError("required: the parameter's name", field="parameter")
        definition = ParameterDefinition.objects.filter(spacecraft=spacecraft, name=name).first()
        if definition is None:
            raise Http404("no such parameter")
        specs = current_specs([spacecraft.pk]).get(spacecraft.pk, {})
        target = Target(definition=definition, spacecraft=spacecraft, spec=spec_of(definition, specs))
        found = analysis.forecast_now(target=target)
        if found is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ForecastSerializer(found).data)


def _visible_spacecraft(request):
    """The spacecraft the `spacecraft` parameter names (id or designation) among those the user sees."""
    ref = request.query_params.get("spacecraft", "")
    if not ref:
        raise AnalysisInputError("required: the spacecraft's id or designation", field="spacecraft")
    scope = spacecraft_visible_to(request.user)
    try:
        matches = list(scope.filter(pk=uuid.UUID(ref)))
    except ValueError:
        matches = list(scope.filter(designation=ref))
    if len(matches) != 1:
        raise Http404("no such spacecraft")
    return matches[0]
