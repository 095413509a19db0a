"""REST API of the orbits app: TLEs, ground stations, passes, positions, ground tracks, plans."""

import math
from datetime import timedelta

import django_filters
import numpy as np
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import UserOrganizationField, organization_for_create, require_role
from missionops.exceptions import DomainError
from missionops.filters import ScopedFilterSet, UTCDateTimeFilter
from missionops.ids import decimal_id
from missionops.models import OPERATING_ROLES, Role
from missionops.parsers import LimitedJSONParser
from spacecraft.selectors import spacecraft_visible_to

from . import element_sets, geojson, passes, predictions, propagation, selectors, services
from .models import TLE, Conjunction, Contact, ContactPlan, GroundStation, Pass
from .scheduling import MAX_BITS

MAX_UPLOAD_BYTES = 5_000_000


class TLESerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)

    class Meta:
        model = TLE
        fields = [
            "id",
            "spacecraft",
            "designation",
            "norad_id",
            "object_name",
            "epoch",
            "line1",
            "line2",
            "format",
            "source",
            "created_at",
        ]


@extend_schema_field(OpenApiTypes.STR)
class OrganizationSlugField(UserOrganizationField):
    pass


class TLEImportSerializer(serializers.Serializer):
    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")
    text = serializers.CharField(required=False, trim_whitespace=False, help_text="2-/3-line TLE text or OMM JSON")
    file = serializers.FileField(required=False, help_text="a TLE text or OMM JSON file")
    create_missing = serializers.BooleanField(default=False, help_text="register unknown NORAD ids (admin)")

    def validate(self, attrs):
        if bool(attrs.get("text")) == bool(attrs.get("file")):
            raise serializers.ValidationError({"text": ["give exactly one of text or file"]})
        upload = attrs.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise serializers.ValidationError({"file": [f"larger than {MAX_UPLOAD_BYTES} bytes"]})
            try:
                attrs["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise serializers.ValidationError({"file": ["not UTF-8 text"]}) from None
            attrs["source"] = f"upload {upload.name}"[:300]
        else:
            attrs["source"] = "api"
        return attrs


class ImportItemSerializer(serializers.Serializer):
    location = serializers.CharField(help_text="'lines 4-6' or 'record 2'")
    norad_id = serializers.IntegerField(required=False)
    spacecraft = serializers.UUIDField(required=False)
    epoch = serializers.DateTimeField(required=False)
    id = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False, help_text="why refused (names line and column)")
    line = serializers.IntegerField(required=False)
    column = serializers.IntegerField(required=False)
    field = serializers.CharField(required=False, help_text="the OMM field at fault")


class ImportReportSerializer(serializers.Serializer):
    imported = ImportItemSerializer(many=True)
    unchanged = ImportItemSerializer(many=True)
    refused = ImportItemSerializer(many=True)
    created_spacecraft = serializers.ListField(child=serializers.CharField())


class TLEFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    norad_id = django_filters.NumberFilter()

    class Meta:
        model = TLE
        fields = ["spacecraft", "norad_id"]


@extend_schema_view(
    list=extend_schema(summary="Element sets of your spacecraft, newest epoch first (history)"),
    retrieve=extend_schema(summary="One element set"),
)
class TLEViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = TLESerializer
    filterset_class = TLEFilter
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.tles_visible_to(self.request.user).order_by("spacecraft_id", "-epoch")

    @extend_schema(
        summary="Import TLE / OMM element sets (operator); lists what was imported and what was refused",
        request={"application/json": TLEImportSerializer, "multipart/form-data": TLEImportSerializer},
        responses={201: ImportReportSerializer, 200: ImportReportSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = TLEImportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["create_missing"]:
            roles, action = (Role.ADMIN,), "import TLEs that register new spacecraft (create_missing)"
        else:
            roles, action = OPERATING_ROLES, "import TLEs"
        organization = organization_for_create(request.user, data.get("organization"), roles=roles, action=action)
        report = services.import_tles(
            organization=organization,
            text=data["text"],
            source=data["source"],
            actor=request.user,
            create_missing=data["create_missing"],
        )
        code = status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK
        return Response(report.as_dict(), status=code)


class GroundStationSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False, help_text="Organization slug; defaults to your only one.")

    class Meta:
        model = GroundStation
        fields = [
            "id",
            "organization",
            "name",
            "latitude_deg",
            "longitude_deg",
            "altitude_m",
            "min_elevation_deg",
            "downlink_rate_bps",
            "created_at",
            "updated_at",
        ]
        validators = []


class GroundStationViewSet(viewsets.ModelViewSet):
    """Ground stations of your organizations; admins create and change them (passes follow)."""

    serializer_class = GroundStationSerializer

    def get_queryset(self):
        return selectors.stations_visible_to(self.request.user)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action in ("update", "partial_update", "destroy"):
            verb = "delete" if self.action == "destroy" else "change"
            require_role(request.user, obj.organization, Role.ADMIN, action=f"{verb} this ground station")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), action="add ground stations"
        )
        serializer.instance = services.create_station(organization=organization, actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "organization" in data and data.pop("organization") != serializer.instance.organization:
            raise serializers.ValidationError({"organization": ["a station cannot move between organizations"]})
        serializer.instance = services.update_station(station=serializer.instance, actor=self.request.user, **data)

    def perform_destroy(self, instance):
        services.delete_station(station=instance, actor=self.request.user)


class FiniteFloatField(serializers.FloatField):
    """A float that is never NaN or Infinity in a response (JSON has neither): null instead."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return value if math.isfinite(value) else None


class PassSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)
    duration_s = serializers.FloatField(read_only=True)
    max_elevation_deg = FiniteFloatField(read_only=True, allow_null=True)
    aos_azimuth_deg = FiniteFloatField(read_only=True, allow_null=True)
    los_azimuth_deg = FiniteFloatField(read_only=True, allow_null=True)

    class Meta:
        model = Pass
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "aos",
            "los",
            "tca",
            "duration_s",
            "max_elevation_deg",
            "aos_azimuth_deg",
            "los_azimuth_deg",
            "continuous",
        ]


class PassFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    station = django_filters.NumberFilter(field_name="station_id")
    start = UTCDateTimeFilter(field_name="los", lookup_expr="gte", help_text="passes ending after")
    end = UTCDateTimeFilter(field_name="aos", lookup_expr="lte", help_text="passes beginning before")
    min_elevation = django_filters.NumberFilter(field_name="max_elevation_deg", lookup_expr="gte")

    class Meta:
        model = Pass
        fields = ["spacecraft", "station", "start", "end", "min_elevation"]


class PredictQuerySerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    station = serializers.IntegerField(required=False, min_value=1, help_text="a ground station id")
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90, help_text="ad-hoc site, degrees")
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180, help_text="ad-hoc site, degrees")
    alt_m = serializers.FloatField(required=False, default=0.0, min_value=-500, max_value=9000)
    min_elevation_deg = serializers.FloatField(required=False, default=0.0, min_value=0, max_value=89)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    allow_stale = serializers.BooleanField(default=False, help_text="predict past the element sets' age limit")

    def validate(self, attrs):
        site = [name for name in ("lat", "lon") if name in attrs]
        if "station" in attrs and site:
            raise serializers.ValidationError({"station": ["give a station or lat/lon, not both"]})
        if "station" not in attrs and len(site) != 2:
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: ["give a station, or both lat and lon"]})
        for name in ("start", "end"):
            raw = parse_datetime(str(self.initial_data.get(name, "")))
            if raw is not None and timezone.is_naive(raw):
                raise serializers.ValidationError({name: ["give an offset (e.g. 2024-03-20T06:00:00Z)"]})
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


class ElementSetUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    norad_id = serializers.IntegerField()
    epoch = serializers.DateTimeField()
    age_days = serializers.FloatField(help_text="from the epoch to the farthest time predicted with it")
    used_from = serializers.DateTimeField()
    used_to = serializers.DateTimeField()
    warning = serializers.CharField(allow_blank=True)


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
        responses=PassPredictionSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], url_path="predict", filter_backends=[], pagination_class=None)
    def predict(self, request):
        query = PredictQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
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


class ContactSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "pass_ref",
            "start",
            "end",
            "volume_bits",
            "priority",
        ]


class UnservedSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    priority = serializers.IntegerField()
    needed_bits = serializers.IntegerField()
    scheduled_bits = serializers.IntegerField()
    reason = serializers.CharField()


class ContactPlanItemSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    priority = serializers.IntegerField(default=0, min_value=-1000, max_value=1000)
    volume_bits = serializers.IntegerField(min_value=1, max_value=MAX_BITS)


class ContactPlanSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    requests = ContactPlanItemSerializer(many=True, write_only=True)
    contacts = ContactSerializer(many=True, read_only=True)
    unserved = UnservedSerializer(many=True, read_only=True)
    requested = serializers.JSONField(source="requests", read_only=True)

    class Meta:
        model = ContactPlan
        fields = ["id", "organization", "start", "end", "requests", "requested", "contacts", "unserved", "created_at"]

    def validate_requests(self, value):
        if not value:
            raise serializers.ValidationError("give at least one request")
        return value


@extend_schema_view(
    list=extend_schema(summary="Contact plans of your organizations, newest first"),
    retrieve=extend_schema(summary="One contact plan with its contacts and unserved requests"),
    create=extend_schema(summary="Build a contact plan for a window from the predicted passes (operator)"),
)
class ContactPlanViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ContactPlanSerializer

    def get_queryset(self):
        return selectors.contact_plans_visible_to(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        organization = organization_for_create(
            self.request.user, data.get("organization"), roles=OPERATING_ROLES, action="build contact plans"
        )
        visible = {sc.pk: sc for sc in spacecraft_visible_to(self.request.user).filter(organization=organization)}
        requests = []
        for item in data["requests"]:
            if item["spacecraft"] not in visible:
                raise DomainError(f"no spacecraft {item['spacecraft']} in {organization.slug}", field="requests")
            requests.append({**item, "spacecraft": visible[item["spacecraft"]]})
        serializer.instance = services.build_contact_plan(
            organization=organization, start=data["start"], end=data["end"], requests=requests, actor=self.request.user
        )


# -- per-spacecraft geometry ------------------------------------------------------------------


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


# -- conjunctions ---------------------------------------------------------------------------------


class ConjunctionSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    miss_distance_km = FiniteFloatField(allow_null=True)
    radial_km = FiniteFloatField(allow_null=True, help_text="along the primary's position vector")
    in_track_km = FiniteFloatField(allow_null=True, help_text="along the primary's motion, in its orbit plane")
    cross_track_km = FiniteFloatField(allow_null=True, help_text="along the primary's orbit normal")
    relative_speed_km_s = FiniteFloatField(allow_null=True)

    class Meta:
        model = Conjunction
        fields = [
            "id",
            "spacecraft",
            "designation",
            "tle",
            "secondary_norad_id",
            "secondary_name",
            "secondary_epoch",
            "tca",
            "miss_distance_km",
            "radial_km",
            "in_track_km",
            "cross_track_km",
            "relative_speed_km_s",
            "critical",
            "screened_at",
        ]


class ConjunctionFilter(ScopedFilterSet):
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    secondary_norad_id = django_filters.NumberFilter()
    critical = django_filters.BooleanFilter()
    start = UTCDateTimeFilter(field_name="tca", lookup_expr="gte", help_text="TCA at or after")
    end = UTCDateTimeFilter(field_name="tca", lookup_expr="lte", help_text="TCA at or before")
    max_miss_km = django_filters.NumberFilter(field_name="miss_distance_km", lookup_expr="lte")

    class Meta:
        model = Conjunction
        fields = ["spacecraft", "secondary_norad_id", "critical", "start", "end", "max_miss_km"]


@extend_schema_view(
    list=extend_schema(summary="Predicted close approaches of your spacecraft with catalogue objects, by TCA"),
    retrieve=extend_schema(summary="One close approach"),
)
class ConjunctionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ConjunctionSerializer
    filterset_class = ConjunctionFilter

    def get_queryset(self):
        return selectors.conjunctions_visible_to(self.request.user).order_by("tca", "id")
