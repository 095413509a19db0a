"""Per-spacecraft geometry: position, ground track, next pass; the fleet's positions."""

from datetime import timedelta

import numpy as np
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import DecimalIdField, UTCDateTimeField, validated_query
from missionops.exceptions import DomainError
from spacecraft.selectors import spacecraft_visible_to

from .. import element_sets, geojson, passes, propagation, selectors, services
from ..representations import ElementSetUseSerializer, PassSerializer, PositionSerializer


class PositionQuery(serializers.Serializer):
    at = UTCDateTimeField(required=False, default=timezone.now, help_text="default now")
    allow_stale = serializers.BooleanField(default=False, help_text="answer even past the set's hard age limit")


class GroundTrackQuery(serializers.Serializer):
    minutes_before = serializers.FloatField(required=False, default=45, min_value=0, max_value=1440)
    minutes_after = serializers.FloatField(required=False, default=90, min_value=0, max_value=1440)
    step_s = serializers.FloatField(required=False, default=30, min_value=10, max_value=600)
    at = UTCDateTimeField(required=False, default=timezone.now, help_text="centre time, default now")
    allow_stale = serializers.BooleanField(default=False, help_text="answer even past the set's hard age limit")


class FleetGroundTrackQuery(serializers.Serializer):
    minutes_before = serializers.FloatField(required=False, default=45, min_value=0, max_value=360)
    minutes_after = serializers.FloatField(required=False, default=90, min_value=0, max_value=360)
    step_s = serializers.FloatField(required=False, default=30, min_value=30, max_value=600)
    at = UTCDateTimeField(required=False, default=timezone.now, help_text="centre time, default now")


class NextPassQuery(serializers.Serializer):
    station = DecimalIdField(required=False, help_text="only this station")


class SpacecraftGeometryView(APIView):
    def get_spacecraft(self, pk):
        return get_object_or_404(spacecraft_visible_to(self.request.user), pk=pk)


class PositionView(SpacecraftGeometryView):
    @extend_schema(
        summary="Where the spacecraft is (SGP4 from the element set nearest `at`, with its age)",
        parameters=[PositionQuery],
        responses=PositionSerializer,
    )
    def get(self, request, pk):
        q = validated_query(PositionQuery, request)
        at, allow_stale = q["at"], q["allow_stale"]
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
        return Response(PositionSerializer(found[0]).data)


class GroundTrackView(SpacecraftGeometryView):
    @extend_schema(
        summary="Ground track as GeoJSON, one LineString per piece between antimeridian crossings",
        description="Propagated with the element set whose epoch is nearest `at` (the newest one before it "
        "where one exists), named with its age in `element_set`. A set past its hard age limit is refused "
        "(400, field allow_stale) unless allow_stale=true.",
        parameters=[GroundTrackQuery],
        responses=inline_serializer(
            "GroundTrack",
            {
                "type": serializers.CharField(),
                "element_set": ElementSetUseSerializer(help_text="the set used, with its age over the track"),
                "features": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request, pk):
        q = validated_query(GroundTrackQuery, request)
        before, after, step_s, at = q["minutes_before"], q["minutes_after"], q["step_s"], q["at"]
        spacecraft = self.get_spacecraft(pk)
        tle = element_sets.element_set_at(spacecraft, at)
        if tle is None:
            raise DomainError(f"{spacecraft.designation} has no TLE", field="spacecraft")
        try:
            first, last = at - timedelta(minutes=before), at + timedelta(minutes=after)
        except OverflowError:
            raise DomainError("at: the track would reach outside years 1-9999", field="at") from None
        use = element_sets.use(tle, first, last)
        element_sets.check_age([use], allow_stale=q["allow_stale"], spacecraft=spacecraft)
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
        element_set = ElementSetUseSerializer(use.as_dict()).data
        return Response({"type": "FeatureCollection", "element_set": element_set, "features": features})


class NextPassView(SpacecraftGeometryView):
    @extend_schema(
        summary="The pass in progress or the next one (404 when none is predicted)",
        parameters=[NextPassQuery],
        responses=PassSerializer,
    )
    def get(self, request, pk):
        spacecraft = self.get_spacecraft(pk)
        station_id = validated_query(NextPassQuery, request).get("station")
        station = None
        if station_id is not None:
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
        found = services.positions(spacecraft=fleet, at=timezone.now(), allow_stale=False)
        return Response(PositionSerializer(found, many=True).data)


class FleetGroundTracksView(APIView):
    @extend_schema(
        summary="Ground tracks of all your spacecraft as one GeoJSON FeatureCollection (the orbit map)",
        description="One feature per spacecraft (a LineString, or a MultiLineString split at the antimeridian "
        "and where SGP4 fails), its properties naming the spacecraft and the element set used. Spacecraft "
        "without an element set, or whose set is past its hard age limit, are left out (ask "
        "`/spacecraft/<id>/ground-track/?allow_stale=true` for one of those).",
        parameters=[FleetGroundTrackQuery],
        responses=inline_serializer(
            "FleetGroundTracks",
            {"type": serializers.CharField(), "features": serializers.ListField(child=serializers.DictField())},
        ),
    )
    def get(self, request):
        q = validated_query(FleetGroundTrackQuery, request)
        at = q["at"]
        try:
            first, last = at - timedelta(minutes=q["minutes_before"]), at + timedelta(minutes=q["minutes_after"])
        except OverflowError:
            raise DomainError("at: the tracks would reach outside years 1-9999", field="at") from None
        found = services.ground_tracks(
            spacecraft=list(spacecraft_visible_to(request.user)), first=first, last=last, step_s=q["step_s"], at=at
        )
        features = []
        for _, use, feature in found:
            feature["properties"]["element_set"] = ElementSetUseSerializer(use.as_dict()).data
            features.append(feature)
        return Response({"type": "FeatureCollection", "features": features})
