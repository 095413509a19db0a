"""REST API of Alpaca devices: registered devices, and telescopes, cameras, focusers and domes
with the operations each accepts (202: the operation record carries the outcome)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import require_role
from missionops.filters import ScopedFilterSet
from missionops.models import OPERATING_ROLES, Role

from . import selectors, services
from .models import AlpacaDevice, DeviceType, OperationKind
from .representations import DeviceSerializer, OperationSerializer
from .services import request_operation


class DeviceFilter(ScopedFilterSet):
    class Meta:
        model = AlpacaDevice
        fields = ["observatory", "device_type", "health_status"]


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
