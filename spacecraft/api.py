"""REST API for the registry: spacecraft, their live state and configuration, constellations."""

import re

import django_filters
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from guardian.core import ObjectPermissionChecker
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import UserOrganizationField, organization_for_create, require_role
from missionops.filters import ScopedFilterSet
from missionops.models import Role

from . import selectors, services
from .api_commands import require_operate
from .models import Constellation, MissionType, Mode, Spacecraft
from .representations import ConfigVersionSerializer, SpacecraftRepresentation

DESIGNATION = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")


class SpacecraftSerializer(SpacecraftRepresentation):
    """A spacecraft with its live state; `can_operate` says whether you may operate it."""

    can_operate = serializers.SerializerMethodField(help_text="whether you may operate it (command, change its state)")

    class Meta(SpacecraftRepresentation.Meta):
        fields = [*SpacecraftRepresentation.Meta.fields[:-1], "can_operate", "created_at"]

    def validate_designation(self, value):
        if not DESIGNATION.match(value):
            raise serializers.ValidationError("use capitals, digits and hyphens, e.g. SC-001 (at most 32)")
        return value

    def get_can_operate(self, sc) -> bool:
        checker = self.context.get("permission_checker")
        if checker is None:
            return selectors.can_operate(self.context["request"].user, sc)
        return checker.has_perm("spacecraft.operate_spacecraft", sc)


class StateSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    battery_soc_pct = serializers.FloatField(required=False, min_value=0, max_value=100)
    memory_used_pct = serializers.FloatField(required=False, min_value=0, max_value=100)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)

    def validate(self, attrs):
        if not {"mode", "battery_soc_pct", "memory_used_pct"} & set(attrs):
            raise serializers.ValidationError({"mode": ["give at least one of mode, battery_soc_pct, memory_used_pct"]})
        return attrs


class SpacecraftFilter(ScopedFilterSet):
    mode = django_filters.ChoiceFilter(choices=Mode.choices)
    mission_type = django_filters.ChoiceFilter(choices=MissionType.choices)
    organization = django_filters.CharFilter(field_name="organization__slug")
    designation = django_filters.CharFilter()

    class Meta:
        model = Spacecraft
        fields = ["mode", "mission_type", "organization", "designation", "constellation", "norad_id"]


@extend_schema_view(
    list=extend_schema(summary="Spacecraft of your organizations"),
    create=extend_schema(summary="Register a spacecraft (organization admin)"),
    partial_update=extend_schema(summary="Change registry fields (organization admin)"),
    update=extend_schema(summary="Replace registry fields (organization admin)"),
    destroy=extend_schema(summary="Remove a spacecraft (organization admin)"),
)
class SpacecraftViewSet(viewsets.ModelViewSet):
    serializer_class = SpacecraftSerializer
    filterset_class = SpacecraftFilter

    def get_queryset(self):
        return selectors.spacecraft_with_config_version(self.request.user)

    @cached_property
    def permission_checker(self) -> ObjectPermissionChecker:
        """The caller's object permissions, loaded once for a whole page (`can_operate`)."""
        return ObjectPermissionChecker(self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(getattr(self.request, "user", None), "is_authenticated", False):  # not for the schema's fake one
            context["permission_checker"] = self.permission_checker
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page:
            self.permission_checker.prefetch_perms(page)  # two queries for the page, not two per spacecraft
        return page

    def check_object_permissions(self, request, obj):
        # Checked before the body is validated: a viewer gets 403, not a lesson in our schema.
        super().check_object_permissions(request, obj)
        if self.action in ("update", "partial_update", "destroy"):
            verb = "remove this spacecraft" if self.action == "destroy" else "change this spacecraft's registry fields"
            require_role(request.user, obj.organization, Role.ADMIN, action=verb)
        elif self.action == "state":
            require_operate(request.user, obj, action="update its live state")
        elif self.action == "config" and request.method == "PUT":
            require_operate(request.user, obj, action="change its configuration")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), action="register spacecraft"
        )
        serializer.instance = services.create_spacecraft(organization=organization, actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "organization" in data and data.pop("organization") != serializer.instance.organization:
            raise serializers.ValidationError({"organization": ["a spacecraft cannot move between organizations"]})
        serializer.instance = services.update_spacecraft(
            spacecraft=serializer.instance, actor=self.request.user, **data
        )

    def perform_destroy(self, instance):
        services.delete_spacecraft(spacecraft=instance, actor=self.request.user)

    @extend_schema(request=StateSerializer, responses=SpacecraftSerializer, summary="Update live state (operate)")
    @action(detail=True, methods=["post"])
    def state(self, request, pk=None):
        spacecraft = self.get_object()
        serializer = StateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        spacecraft = services.update_state(spacecraft=spacecraft, actor=request.user, **serializer.validated_data)
        return Response(SpacecraftSerializer(spacecraft, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses=ConfigVersionSerializer, summary="Current configuration")
    @extend_schema(
        methods=["PUT"],
        request=ConfigVersionSerializer,
        responses={201: ConfigVersionSerializer},
        summary="Store a new configuration version (operate)",
    )
    @action(detail=True, methods=["get", "put"])
    def config(self, request, pk=None):
        spacecraft = self.get_object()
        if request.method == "GET":
            return Response(ConfigVersionSerializer(spacecraft.current_config).data)
        serializer = ConfigVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.change_config(
            spacecraft=spacecraft,
            parameters=serializer.validated_data["parameters"],
            note=serializer.validated_data.get("note", ""),
            actor=request.user,
        )
        return Response(ConfigVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ConfigVersionSerializer(many=True), summary="Every configuration version, newest first")
    @action(detail=True, methods=["get"], url_path="config/history", filter_backends=[])
    def config_history(self, request, pk=None):
        spacecraft = self.get_object()
        versions = spacecraft.config_versions.select_related("created_by").order_by("-version")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(ConfigVersionSerializer(page, many=True).data)


class ConstellationSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    spacecraft_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Constellation
        fields = ["id", "organization", "name", "description", "spacecraft_count", "created_at"]
        validators = []


class ConstellationViewSet(viewsets.ModelViewSet):
    serializer_class = ConstellationSerializer

    def get_queryset(self):
        return selectors.constellations_visible_to(self.request.user).select_related("organization")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action in ("update", "partial_update", "destroy"):
            verb = "delete" if self.action == "destroy" else "change"
            require_role(request.user, obj.organization, Role.ADMIN, action=f"{verb} this constellation")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            self.request.user, data.pop("organization", None), action="create constellations"
        )
        constellation = services.create_constellation(organization=organization, actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=constellation.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("organization", None)
        services.update_constellation(constellation=serializer.instance, actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.delete_constellation(constellation=instance, actor=self.request.user)
