"""Passes: the stored ones, and predictions for any window (computed, not stored)."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import DecimalIdField, UTCDateTimeField, validated_query
from missionops.filters import IntegerFilter, ScopedFilterSet, UTCDateTimeFilter
from spacecraft.selectors import spacecraft_visible_to

from .. import passes, predictions, selectors
from ..models import Pass
from ..representations import ElementSetUseSerializer, FiniteFloatField, PassSerializer


class PassFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    station = IntegerFilter(field_name="station_id")
    start = UTCDateTimeFilter(field_name="los", lookup_expr="gte", help_text="passes ending after")
    end = UTCDateTimeFilter(field_name="aos", lookup_expr="lte", help_text="passes beginning before")
    min_elevation = django_filters.NumberFilter(field_name="max_elevation_deg", lookup_expr="gte")

    class Meta:
        model = Pass
        fields = ["spacecraft", "station", "start", "end", "min_elevation"]


class PredictQuerySerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    station = DecimalIdField(required=False, min_value=1, help_text="a ground station id")
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90, help_text="ad-hoc site, degrees")
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180, help_text="ad-hoc site, degrees")
    alt_m = serializers.FloatField(required=False, default=0.0, min_value=-500, max_value=9000)
    min_elevation_deg = serializers.FloatField(required=False, default=0.0, min_value=0, max_value=89)
    start = UTCDateTimeField()
    end = UTCDateTimeField()
    allow_stale = serializers.BooleanField(default=False, help_text="predict past the element sets' age limit")

    def validate(self, attrs):
        site = [name for name in ("lat", "lon") if name in attrs]
        if "station" in attrs and site:
            raise serializers.ValidationError({"station": ["give a station or lat/lon, not both"]})
        if "station" not in attrs and len(site) != 2:
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: ["give a station, or both lat and lon"]})
        return attrs


class PredictedPassSerializer(serializers.Serializer):
    aos = serializers.DateTimeField()
    tca = serializers.DateTimeField()
    los = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    max_elevation_deg = FiniteFloatField(allow_null=True)
    aos_azimuth_deg = FiniteFloatField(allow_null=True)
    los_azimuth_deg = FiniteFloatField(allow_null=True)
    continuous = serializers.BooleanField(help_text="above the minimum elevation all along (GEO)")
    cut_at_start = serializers.BooleanField(help_text="in progress at the window's start: aos is the start")
    cut_at_end = serializers.BooleanField(help_text="in progress at the window's end: los is the end")
    sgp4_end = serializers.BooleanField(help_text="los is where SGP4 stopped (see sgp4_errors)")
    element_set = serializers.IntegerField(help_text="id of the element set used at AOS")


class SGP4ErrorSerializer(serializers.Serializer):
    element_set = serializers.IntegerField()
    error = serializers.CharField(help_text="decayed, eccentricity out of range, ...")
    code = serializers.IntegerField()
    last_valid = serializers.DateTimeField(allow_null=True, help_text="null: it failed from the start")


class PassPredictionSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    element_set = ElementSetUseSerializer(help_text="the set used at the window's start")
    element_sets = ElementSetUseSerializer(many=True, help_text="every set used, in time order")
    warnings = serializers.ListField(child=serializers.CharField())
    sgp4_errors = SGP4ErrorSerializer(many=True)
    passes = PredictedPassSerializer(many=True)


def prediction_data(spacecraft, prediction) -> dict:
    uses = [use.as_dict() for use in prediction.element_sets]
    return {
        "spacecraft": spacecraft.pk,
        "start": prediction.start,
        "end": prediction.end,
        "element_set": uses[0],
        "element_sets": uses,
        "warnings": prediction.warnings,
        "sgp4_errors": [{"element_set": pk, **error} for pk, error in prediction.sgp4_errors.items()],
        "passes": [{**vars(p), "duration_s": p.duration_s} for p in prediction.passes],
    }


@extend_schema_view(
    list=extend_schema(summary="Predicted passes of your spacecraft over your stations"),
    retrieve=extend_schema(summary="One pass"),
)
class PassViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PassSerializer
    filterset_class = PassFilter

    def get_queryset(self):
        return selectors.passes_visible_to(self.request.user).order_by("aos", "id")

    @extend_schema(
        summary="Passes for any window (up to 31 days, from 1957 on), computed now and not stored",
        description="Over one of your stations (`station`) or an ad-hoc site (`lat`, `lon`, `alt_m`, "
        "`min_elevation_deg`). Each piece of the window uses the element set whose epoch is nearest "
        "(the newest one before it where one exists); a pass in progress at either edge is cut there "
        "and marked. A set past its hard age limit is refused (400, field allow_stale) unless "
        "allow_stale=true.",
        parameters=[PredictQuerySerializer],
        responses={
            200: PassPredictionSerializer,
            404: OpenApiResponse(description="None of your spacecraft or stations has that id"),
        },
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path="predict", filter_backends=[], pagination_class=None)
    def predict(self, request):
        data = validated_query(PredictQuerySerializer, request)
        spacecraft = get_object_or_404(spacecraft_visible_to(request.user), pk=data["spacecraft"])
        if "station" in data:
            station = get_object_or_404(
                selectors.stations_visible_to(request.user).filter(organization=spacecraft.organization),
                pk=data["station"],
            )
            site = passes.Station(
                station.latitude_deg, station.longitude_deg, station.altitude_m, station.min_elevation_deg
            )
        else:
            site = passes.Station(data["lat"], data["lon"], data["alt_m"], data["min_elevation_deg"])
        prediction = predictions.predict_passes(
            spacecraft=spacecraft, station=site, start=data["start"], end=data["end"], allow_stale=data["allow_stale"]
        )
        return Response(PassPredictionSerializer(prediction_data(spacecraft, prediction)).data)
