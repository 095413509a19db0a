"""Per-spacecraft geometry: position, ground track, next pass; the fleet's positions."""

from datetime import timedelta

import numpy as np
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.exceptions import DomainError
from missionops.ids import decimal_id
from spacecraft.selectors import spacecraft_visible_to

from .. import element_sets, geojson, passes, propagation, selectors, services
from .passes import PassSerializer


class PositionSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    at = serializers.DateTimeField()
    latitude_deg = serializers.FloatField()
    longitude_deg = serializers.FloatField()
    altitude_km = serializers.FloatField()
    speed_km_s = serializers.FloatField(help_text="inertial speed")
    sunlit = serializers.BooleanField(help_text="outside the Earth's shadow")
    tle_epoch = serializers.DateTimeField()
    tle_id = serializers.IntegerField(help_text="the element set used (nearest epoch, before `at` where one is)")
    tle_age_days = serializers.FloatField(help_text="days between the set's epoch and `at`")
    tle_warning = serializers.CharField(allow_blank=True, help_text="set when the set is past its warning age")


def position_data(p: services.Position) -> dict:
    return {
        "spacecraft": p.spacecraft.pk,
        "designation": p.spacecraft.designation,
        "at": p.at,
        "latitude_deg": p.latitude_deg,
        "longitude_deg": p.longitude_deg,
        "altitude_km": p.altitude_km,
        "speed_km_s": p.speed_km_s,
        "sunlit": p.sunlit,
        "tle_epoch": p.tle_epoch,
        "tle_id": p.tle_id,
        "tle_age_days": round(p.tle_age_days, 3),
        "tle_warning": p.tle_warning,
    }


def _parse_time(value, field: str):
    if not value:
        return timezone.now()
    parsed = serializers.DateTimeField().to_internal_value(value) if isinstance(value, str) else value
    if timezone.is_naive(parsed):
        raise DomainError("give an offset (e.g. 2024-03-20T06:00:00Z)", field=field)
    return parsed


def _flag(request, name: str) -> bool:
    raw = request.query_params.get(name, "")
    if raw.lower() in ("", "0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise DomainError(f"{name} must be true or false", field=name)


def _minutes(request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise DomainError(f"{name} must be a number", field=name) from None
    if not 0 <= value <= 1440:
        raise DomainError(f"{name} must be between 0 and 1440", field=name)
    return value


class SpacecraftGeometryView(APIView):
    def get_spacecraft(self, pk):
        return get_object_or_404(spacecraft_visible_to(self.request.user), pk=pk)


class PositionView(SpacecraftGeometryView):
    @extend_schema(
        summary="Where the spacecraft is (SGP4 from the element set nearest `at`, with its age)",
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="default now"),
            OpenApiParameter("allow_stale", bool, description="answer even past the set's hard age limit"),
        ],
        responses=PositionSerializer,
    )
    def get(self, request, pk):
        try:
            at = _parse_time(request.query_params.get("at"), "at")
        except serializers.ValidationError as exc:
            raise DomainError(f"at: {exc.detail[0]}", field="at") from None
        allow_stale = _flag(request, "allow_stale")
        spacecraft = self.get_spacecraft(pk)
        tle = element_sets.element_set_at(spacecraft, at)
        if tle is None:
            raise DomainError(f"{spacecraft.designation} has no TLE", field="spacecraft")
        element_sets.check_age([element_sets.use(tle, at, at)], allow_stale=allow_stale, spacecraft=spacecraft)
        found = services.positions(spacecraft=[spacecraft], at=at)
        if not found:
            jd, fr = propagation.julian(at)
            code = propagation.satrec_from_lines(tle.line1, tle.line2).sgp4(float(jd[0]), float(fr[0]))[0]
            failure = passes.SGP4_ERROR_NAMES.get(code, f"SGP4 error {code}")
            raise DomainError(
                f"{spacecraft.designation}: SGP4 fails for {at.isoformat()} with element set {tle.pk} ({failure})",
                field="at",
            )
        return Response(PositionSerializer(position_data(found[0])).data)


class GroundTrackView(SpacecraftGeometryView):
    @extend_schema(
        summary="Ground track as GeoJSON, one LineString per piece between antimeridian crossings",
        parameters=[
            OpenApiParameter("minutes_before", float, description="0-1440, default 45"),
            OpenApiParameter("minutes_after", float, description="0-1440, default 90"),
            OpenApiParameter("step_s", float, description="10-600, default 30"),
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="centre time, default now"),
        ],
        responses=inline_serializer(
            "GroundTrack",
            {"type": serializers.CharField(), "features": serializers.ListField(child=serializers.DictField())},
        ),
    )
    def get(self, request, pk):
        before = _minutes(request, "minutes_before", 45)
        after = _minutes(request, "minutes_after", 90)
        try:
            step_s = float(request.query_params.get("step_s") or 30)
        except ValueError:
            raise DomainError("step_s must be a number", field="step_s") from None
        if not 10 <= step_s <= 600:
            raise DomainError("step_s must be between 10 and 600", field="step_s")
        try:
            at = _parse_time(request.query_params.get("at"), "at")
        except serializers.ValidationError as exc:
            raise DomainError(f"at: {exc.detail[0]}", field="at") from None
        spacecraft = self.get_spacecraft(pk)
        tle = services.current_tle(spacecraft)
        if tle is None:
            raise DomainError(f"{spacecraft.designation} has no TLE", field="spacecraft")
        try:
            first, last = at - timedelta(minutes=before), at + timedelta(minutes=after)
        except OverflowError:
            raise DomainError("at: the track would reach outside years 1-9999", field="at") from None
        times = propagation.time_grid(first, last, step_s)
        track = propagation.track([propagation.satrec_from_lines(tle.line1, tle.line2)], times)
        lat, lon = track.latitude_deg[0], track.longitude_deg[0]
        bad = track.error[0] != 0
        lat, lon = np.where(bad, np.nan, lat), np.where(bad, np.nan, lon)
        properties = {"spacecraft": str(spacecraft.pk), "designation": spacecraft.designation}
        features = [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": line}, "properties": properties}
            for line in geojson.split_antimeridian(lat, lon)
        ]
        return Response({"type": "FeatureCollection", "features": features})


class NextPassView(SpacecraftGeometryView):
    @extend_schema(
        summary="The pass in progress or the next one (404 when none is predicted)",
        parameters=[OpenApiParameter("station", int, description="only this station")],
        responses=PassSerializer,
    )
    def get(self, request, pk):
        spacecraft = self.get_spacecraft(pk)
        station = None
        station_id = request.query_params.get("station")
        if station_id:
            if decimal_id(station_id) is None:
                raise DomainError("station must be a station id (digits)", field="station")
            station = get_object_or_404(
                selectors.stations_visible_to(request.user).filter(organization=spacecraft.organization),
                pk=station_id,
            )
        found = selectors.next_pass(spacecraft=spacecraft, station=station)
        if found is None:
            return Response({"detail": "no pass predicted"}, status=status.HTTP_404_NOT_FOUND)
        return Response(PassSerializer(found).data)


class FleetPositionsView(APIView):
    @extend_schema(
        summary="Positions now of all your spacecraft with an element set within its hard age limit",
        responses=PositionSerializer(many=True),
    )
    def get(self, request):
        fleet = list(spacecraft_visible_to(request.user))
        return Response(
            [
                PositionSerializer(position_data(p)).data
                for p in services.positions(spacecraft=fleet, at=timezone.now(), allow_stale=False)
            ]
        )
