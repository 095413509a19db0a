"""REST API of observatories (discovery, passes). Devices and their operations are in api_devices.py,
the records they leave (operations, exposures, observation sessions) in api_records.py. Viewers
read; operators and admins operate devices; admins manage observatories and devices."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import (
    UserOrganizationField,
    UTCDateTimeField,
    organization_for_create,
    require_role,
    validated_query,
)
from missionops.models import Role
from orbits.api.passes import PassPredictionSerializer, prediction_data
from orbits.predictions import MAX_WINDOW
from spacecraft.selectors import spacecraft_visible_to

from . import selectors, services
from .models import Observatory
from .services import tracking

OBSERVATORY_VERBS = {"destroy": "delete", "discover": "discover devices for"}
MAX_WINDOW_HOURS = MAX_WINDOW.total_seconds() / 3600


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


class ObservatoryPassesQuery(serializers.Serializer):
    spacecraft = serializers.UUIDField(help_text="spacecraft id (UUID)")
    start = UTCDateTimeField(required=False, default=timezone.now, help_text="window start, default now")
    hours = serializers.FloatField(
        default=24, min_value=1, max_value=MAX_WINDOW_HOURS, help_text="window length (up to 31 days)"
    )
    allow_stale = serializers.BooleanField(default=False, help_text="predict past the element sets' age limit")


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
        parameters=[ObservatoryPassesQuery],
        responses=PassPredictionSerializer,
        summary="Passes of a spacecraft above this observatory's horizon limit (any window up to 31 days)",
        description="Computed like GET /api/v1/passes/predict/: each piece of the window uses the element "
        "set whose epoch is nearest (the newest one before it where one exists), named with its age; a set "
        "past its hard age limit is refused (400, field allow_stale) unless allow_stale=true.",
    )
    @action(detail=True, methods=["get"])
    def passes(self, request, pk=None):
        observatory = self.get_object()
        q = validated_query(ObservatoryPassesQuery, request)
        spacecraft = spacecraft_visible_to(request.user).filter(pk=q["spacecraft"]).first()
        if spacecraft is None or spacecraft.organization_id != observatory.organization_id:
            raise serializers.ValidationError({"spacecraft": ["unknown spacecraft"]})
        start = q["start"]
        try:
            end = start + timedelta(hours=q["hours"])
        except OverflowError:
            raise serializers.ValidationError({"start": ["the window would end after year 9999"]}) from None
        prediction = tracking.find_passes(
            observatory=observatory, spacecraft=spacecraft, start=start, end=end, allow_stale=q["allow_stale"]
        )
        return Response(PassPredictionSerializer(prediction_data(spacecraft, prediction)).data)
