"""REST API: observatories (discovery), devices, device operations, exposures, observation sessions.
Viewers read; operators and admins operate devices; admins manage observatories and devices."""

import uuid
from datetime import timedelta

from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import UserOrganizationField, organization_for_create, require_role, username_field
from missionops.filters import ScopedFilterSet
from missionops.models import OPERATING_ROLES, Role
from spacecraft.selectors import spacecraft_visible_to

from . import selectors, services, tracking
from .models import AlpacaDevice, DeviceType, Exposure, ObservationSession, Observatory, Operation, OperationKind
from .operations import request_operation
from .status_text import status_words

OBSERVATORY_VERBS = {"destroy": "delete", "discover": "discover devices for"}


# -- observatories --------------------------------------------------------------------------------


class ObservatorySerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    device_count = serializers.IntegerField(read_only=True)  # annotated by the viewset's queryset

    class Meta:
        model = Observatory
        fields = [
            "id",
            "organization",
            "name",
            "latitude_deg",
            "longitude_deg",
            "altitude_m",
            "horizon_limit_deg",
            "discovery_hosts",
            "discovery_interface",
            "device_count",
            "created_at",
        ]
        validators = []  # uniqueness is the service's (409 with the field named)


class DiscoverSerializer(serializers.Serializer):
    hosts = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Extra discovery targets, `host[:port]`, this run only."
    )
    timeout_s = serializers.FloatField(required=False, default=1.0, min_value=0.1, max_value=10.0)


class DiscoveryReportSerializer(serializers.Serializer):
    targets = serializers.ListField(child=serializers.CharField())
    servers = serializers.ListField(child=serializers.CharField())
    registered = serializers.ListField(child=serializers.IntegerField())
    known = serializers.ListField(child=serializers.IntegerField())
    errors = serializers.ListField(child=serializers.CharField())


class ObservatoryPassSerializer(serializers.Serializer):
    aos = serializers.DateTimeField()
    los = serializers.DateTimeField()
    tca = serializers.DateTimeField()
    max_elevation_deg = serializers.FloatField()
    aos_azimuth_deg = serializers.FloatField()
    los_azimuth_deg = serializers.FloatField()


class ObservatoryViewSet(viewsets.ModelViewSet):
    """Observatories of your organizations. Admins create, change and delete them."""

    serializer_class = ObservatorySerializer

    def get_queryset(self):
        return selectors.observatories_visible_to(self.request.user).annotate(device_count=Count("devices"))

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action in ("update", "partial_update", "destroy", "discover"):
            verb = OBSERVATORY_VERBS.get(self.action, "change")
            require_role(request.user, obj.organization, Role.ADMIN, action=f"{verb} this observatory")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), action="create observatories"
        )
        observatory = services.create_observatory(organization=organization, actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=observatory.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "organization" in data and data.pop("organization") != serializer.instance.organization:
            raise serializers.ValidationError({"organization": ["an observatory cannot move between organizations"]})
        serializer.instance = services.update_observatory(
            observatory=serializer.instance, actor=self.request.user, **data
        )

    def perform_destroy(self, instance):
        services.delete_observatory(observatory=instance, actor=self.request.user)

    @extend_schema(
        request=DiscoverSerializer,
        responses=DiscoveryReportSerializer,
        summary="Discover Alpaca devices (UDP to configured hosts only, management API, probing) and register them",
    )
    @action(detail=True, methods=["post"])
    def discover(self, request, pk=None):
        observatory = self.get_object()
        serializer = DiscoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.discover_devices(
            observatory=observatory,
            extra_targets=serializer.validated_data["hosts"],
            timeout_s=serializer.validated_data["timeout_s"],
            actor=request.user,
        )
        return Response(report.as_dict())

    @extend_schema(
        parameters=[
            OpenApiParameter("spacecraft", str, required=True, description="spacecraft id (UUID)"),
            OpenApiParameter("hours", float, description="window from now, 1-72 (default 24)"),
        ],
        responses=ObservatoryPassSerializer(many=True),
        summary="Passes of a spacecraft above this observatory's horizon limit",
    )
    @action(detail=True, methods=["get"])
    def passes(self, request, pk=None):
        observatory = self.get_object()
        try:
            spacecraft_id = uuid.UUID(request.query_params.get("spacecraft", ""))
        except ValueError:
            raise serializers.ValidationError({"spacecraft": ["a spacecraft id (UUID)"]}) from None
        spacecraft = spacecraft_visible_to(request.user).filter(pk=spacecraft_id).first()
        if spacecraft is None or spacecraft.organization_id != observatory.organization_id:
            raise serializers.ValidationError({"spacecraft": ["unknown spacecraft"]})
        try:
            hours = float(request.query_params.get("hours", 24))
        except ValueError:
            raise serializers.ValidationError({"hours": ["a number of hours"]}) from None
        if not 1 <= hours <= 72:
            raise serializers.ValidationError({"hours": ["between 1 and 72"]})
        start = timezone.now()
        windows = tracking.find_passes(
            observatory=observatory, spacecraft=spacecraft, start=start, end=start + timedelta(hours=hours)
        )
        return Response(ObservatoryPassSerializer(windows, many=True).data)


# -- devices --------------------------------------------------------------------------------------


class DeviceSerializer(serializers.ModelSerializer):
    observatory = serializers.PrimaryKeyRelatedField(queryset=Observatory.objects.none())
    status_text = serializers.SerializerMethodField(help_text="`status` in words, as the pages show it.")

    class Meta:
        model = AlpacaDevice
        fields = [
            "id",
            "observatory",
            "device_type",
            "device_number",
            "host",
            "port",
            "unique_id",
            "name",
            "health_status",
            "health_detail",
            "status",
            "status_text",
            "last_checked_at",
            "last_seen_at",
            "created_at",
        ]
        read_only_fields = [
            "unique_id",
            "name",
            "health_status",
            "health_detail",
            "status",
            "last_checked_at",
            "last_seen_at",
        ]
        validators = []

    def get_status_text(self, device) -> str:
        return status_words(device.status or {})

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["observatory"].queryset = selectors.observatories_visible_to(request.user)
        return fields


class DeviceFilter(ScopedFilterSet):
    class Meta:
        model = AlpacaDevice
        fields = ["observatory", "device_type", "health_status"]


class OperationSerializer(serializers.ModelSerializer):
    # A plain string in the schema: an enum named "kind" would collide with other apps' "kind" enums.
    kind = serializers.CharField(read_only=True, help_text=f"one of: {', '.join(OperationKind.values)}")
    requested_by = username_field("requested_by")
    result = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "id",
            "device",
            "kind",
            "params",
            "status",
            "error",
            "result",
            "requested_by",
            "timeout_s",
            "deadline",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_result(self, operation) -> dict:
        return {k: v for k, v in operation.result.items() if not k.startswith("_")}


class DeviceViewSetBase(viewsets.GenericViewSet):
    serializer_class = DeviceSerializer
    device_type: str | None = None

    def get_queryset(self):
        devices = selectors.devices_visible_to(self.request.user)
        return devices.filter(device_type=self.device_type) if self.device_type else devices

    def device_to_operate(self, verb: str) -> AlpacaDevice:
        """The device of the URL, if the caller may operate it (checked before any body: 403, not 400)."""
        device = self.get_object()
        require_role(
            self.request.user,
            device.observatory.organization,
            *OPERATING_ROLES,
            action=f"{verb} this {device.device_type}",
        )
        return device

    def operate(self, kind: str, params: dict | None = None, device: AlpacaDevice | None = None) -> Response:
        device = device or self.device_to_operate(f"run {kind} on")
        operation = request_operation(device=device, kind=kind, params=params, actor=self.request.user)
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)

    def operate_with(self, kind: str, serializer_class) -> Response:
        device = self.device_to_operate(f"run {kind} on")
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return self.operate(kind, serializer.validated_data, device=device)


OPERATION_RESPONSE = {202: OperationSerializer}


class DeviceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    DeviceViewSetBase,
):
    """Every Alpaca device of your observatories. Admins add one by address (it must answer) or
    remove one; operators connect and disconnect."""

    filterset_class = DeviceFilter

    def perform_create(self, serializer):
        data = serializer.validated_data
        require_role(
            self.request.user, data["observatory"].organization, Role.ADMIN, action="add devices to this observatory"
        )
        serializer.instance = services.add_device(
            observatory=data["observatory"],
            host=data["host"],
            port=data["port"],
            device_type=data["device_type"],
            device_number=data.get("device_number", 0),
            actor=self.request.user,
        )

    def perform_destroy(self, instance):
        require_role(self.request.user, instance.observatory.organization, Role.ADMIN, action="remove this device")
        services.remove_device(device=instance, actor=self.request.user)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Connect (asynchronous operation)")
    @action(detail=True, methods=["post"])
    def connect(self, request, pk=None):
        return self.operate(OperationKind.CONNECT)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Disconnect (asynchronous operation)")
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        return self.operate(OperationKind.DISCONNECT)


class SlewSerializer(serializers.Serializer):
    ra_hours = serializers.FloatField(required=False, min_value=0, max_value=24, help_text="J2000")
    dec_deg = serializers.FloatField(required=False, min_value=-90, max_value=90, help_text="J2000")
    altitude_deg = serializers.FloatField(required=False, min_value=-90, max_value=90)
    azimuth_deg = serializers.FloatField(required=False, min_value=0, max_value=360)

    def validate(self, attrs):
        radec = "ra_hours" in attrs and "dec_deg" in attrs
        altaz = "altitude_deg" in attrs and "azimuth_deg" in attrs
        if radec == altaz:
            raise serializers.ValidationError(
                {"ra_hours": ["give either ra_hours and dec_deg (J2000), or altitude_deg and azimuth_deg"]}
            )
        return attrs


class TrackingSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class TelescopeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DeviceViewSetBase):
    """Telescopes (mounts). Every action is an asynchronous operation: the 202 body is its record;
    follow it at /api/v1/telescope-operations/{id}/ or on the `telescopes` live topic."""

    device_type = DeviceType.TELESCOPE

    @extend_schema(
        request=SlewSerializer,
        responses=OPERATION_RESPONSE,
        summary="Slew to RA/Dec (J2000, converted to the mount's equatorial system) or to Alt/Az; "
        "400 below the horizon limit",
    )
    @action(detail=True, methods=["post"])
    def slew(self, request, pk=None):
        device = self.device_to_operate("slew")
        serializer = SlewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind = OperationKind.SLEW_RADEC if "ra_hours" in serializer.validated_data else OperationKind.SLEW_ALTAZ
        return self.operate(kind, serializer.validated_data, device=device)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Park")
    @action(detail=True, methods=["post"])
    def park(self, request, pk=None):
        return self.operate(OperationKind.PARK)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Unpark")
    @action(detail=True, methods=["post"])
    def unpark(self, request, pk=None):
        return self.operate(OperationKind.UNPARK)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Abort any slew (cancels running slews)")
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        return self.operate(OperationKind.ABORT)

    @extend_schema(request=TrackingSerializer, responses=OPERATION_RESPONSE, summary="Tracking on or off")
    @action(detail=True, methods=["post"])
    def tracking(self, request, pk=None):
        return self.operate_with(OperationKind.TRACKING, TrackingSerializer)


class ExposeSerializer(serializers.Serializer):
    duration_s = serializers.FloatField(min_value=0, max_value=3600)
    light = serializers.BooleanField(default=False, help_text="false: a dark frame (shutter closed)")
    binning = serializers.IntegerField(default=1, min_value=1, max_value=8)


class CameraViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DeviceViewSetBase):
    device_type = DeviceType.CAMERA

    @extend_schema(
        request=ExposeSerializer, responses=OPERATION_RESPONSE, summary="Take an exposure (stored as FITS + PNG)"
    )
    @action(detail=True, methods=["post"])
    def expose(self, request, pk=None):
        return self.operate_with(OperationKind.EXPOSE, ExposeSerializer)


class FocuserMoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=0)


class FocuserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DeviceViewSetBase):
    device_type = DeviceType.FOCUSER

    @extend_schema(request=FocuserMoveSerializer, responses=OPERATION_RESPONSE, summary="Move to a position")
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        return self.operate_with(OperationKind.FOCUSER_MOVE, FocuserMoveSerializer)


class DomeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DeviceViewSetBase):
    device_type = DeviceType.DOME

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Open the shutter")
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        return self.operate(OperationKind.DOME_OPEN)

    @extend_schema(request=None, responses=OPERATION_RESPONSE, summary="Close the shutter")
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self.operate(OperationKind.DOME_CLOSE)


# -- records --------------------------------------------------------------------------------------


class OperationFilter(ScopedFilterSet):
    class Meta:
        model = Operation
        fields = ["device", "kind", "status"]


class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    """Device operations, newest first: status, error, result."""

    serializer_class = OperationSerializer
    filterset_class = OperationFilter

    def get_queryset(self):
        return selectors.operations_visible_to(self.request.user)


class ExposureSerializer(serializers.ModelSerializer):
    fits_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = Exposure
        fields = [
            "id",
            "camera",
            "operation",
            "session",
            "started_at",
            "duration_s",
            "light",
            "width",
            "height",
            "binning",
            "pointing",
            "stats",
            "fits_url",
            "preview_url",
        ]

    def get_fits_url(self, exposure) -> str:
        return f"/api/v1/exposures/{exposure.pk}/fits/"

    def get_preview_url(self, exposure) -> str:
        return f"/api/v1/exposures/{exposure.pk}/preview/"


class ExposureViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ExposureSerializer
    filterset_fields = ["camera", "session", "light"]

    def get_queryset(self):
        return selectors.exposures_visible_to(self.request.user)

    def _file(self, field, content_type):
        exposure = self.get_object()
        stored = getattr(exposure, field)
        try:
            handle = stored.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404("the image file is missing") from None
        return FileResponse(handle, content_type=content_type, filename=stored.name.rsplit("/", 1)[-1])

    @extend_schema(responses={(200, "application/fits"): bytes}, summary="The FITS file")
    @action(detail=True, methods=["get"])
    def fits(self, request, pk=None):
        return self._file("fits", "application/fits")

    @extend_schema(responses={(200, "image/png"): bytes}, summary="The PNG preview")
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return self._file("preview", "image/png")


class SessionSerializer(serializers.ModelSerializer):
    exposures = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    spacecraft = serializers.UUIDField(source="spacecraft_id")

    class Meta:
        model = ObservationSession
        fields = [
            "id",
            "observatory",
            "telescope",
            "camera",
            "spacecraft",
            "start",
            "end",
            "step_s",
            "exposure_every_s",
            "exposure_s",
            "rehearsal_offset_s",
            "status",
            "error",
            "max_pointing_error_deg",
            "track",
            "pointing",
            "exposures",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [
            "status",
            "error",
            "max_pointing_error_deg",
            "track",
            "pointing",
            "exposures",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["observatory"].queryset = selectors.observatories_visible_to(request.user)
            fields["telescope"].queryset = selectors.devices_visible_to(request.user)
            fields["camera"].queryset = selectors.devices_visible_to(request.user)
        return fields


class SessionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Observation sessions: a telescope following a spacecraft through a pass (operate to create)."""

    serializer_class = SessionSerializer
    filterset_fields = ["observatory", "spacecraft", "status"]

    def get_queryset(self):
        # `exposures` lists ids: one query for the page's sessions, not one per session.
        exposure_ids = Prefetch("exposures", queryset=Exposure.objects.only("pk", "session_id"))
        return selectors.sessions_visible_to(self.request.user).prefetch_related(exposure_ids)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        observatory = data.pop("observatory")
        require_role(
            self.request.user,
            observatory.organization,
            *OPERATING_ROLES,
            action="start observation sessions at this observatory",
        )
        spacecraft = spacecraft_visible_to(self.request.user).filter(pk=data.pop("spacecraft_id")).first()
        if spacecraft is None:
            raise serializers.ValidationError({"spacecraft": ["unknown spacecraft"]})
        serializer.instance = tracking.start_session(
            observatory=observatory, spacecraft=spacecraft, actor=self.request.user, **data
        )

    @extend_schema(request=None, responses=SessionSerializer, summary="Abort a scheduled or running session")
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        session = self.get_object()
        require_role(request.user, session.observatory.organization, *OPERATING_ROLES, action="abort this session")
        session = tracking.abort_session(session=session, actor=request.user)
        return Response(SessionSerializer(session, context=self.get_serializer_context()).data)
