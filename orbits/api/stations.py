"""Ground stations."""

from rest_framework import serializers, viewsets

from missionops.api import UserOrganizationField, organization_for_create, require_role
from missionops.models import Role

from .. import selectors, services
from ..models import GroundStation


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
