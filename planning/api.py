"""REST API of the planning app: imaging requests and plans (with recompute)."""

from datetime import timedelta

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import NewestFirstCursorPagination, UserOrganizationField, organization_for_create, require_role
from missionops.filters import ScopedFilterSet
from missionops.models import OPERATING_ROLES

from . import selectors, services
from .models import Downlink, ImagingRequest, ImagingSlot, Plan, RequestState


@extend_schema_field(OpenApiTypes.STR)
class OrganizationSlugField(UserOrganizationField):
    pass


class ImagingRequestSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    can_cancel = serializers.BooleanField(read_only=True)
    target = serializers.JSONField(help_text="GeoJSON Point or Polygon (one closed ring), lon/lat WGS84")

    class Meta:
        model = ImagingRequest
        fields = [
            "id",
            "organization",
            "name",
            "target",
            "target_latitude_deg",
            "target_longitude_deg",
            "priority",
            "earliest_start",
            "deadline",
            "min_elevation_deg",
            "min_sun_elevation_deg",
            "volume_bits",
            "template",
            "state",
            "failure_reason",
            "tile_job",
            "can_cancel",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ImagingRequestCreateSerializer(serializers.Serializer):
    """Shapes only; every rule (deadline after start, closed polygon, the template's
    organization) is the service's, so the API and the page refuse the same things."""

    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")
    name = serializers.CharField(max_length=120)
    target = serializers.JSONField(help_text="GeoJSON Point or Polygon (one closed ring), lon/lat WGS84")
    priority = serializers.IntegerField(default=1, help_text="1 to 100; the weight of the request in the plan")
    earliest_start = serializers.DateTimeField()
    deadline = serializers.DateTimeField(help_text="the image must be downlinked by then")
    min_elevation_deg = serializers.FloatField(default=60.0, help_text="of the spacecraft seen from the target")
    min_sun_elevation_deg = serializers.FloatField(
        default=10.0, allow_null=True, help_text="at the target; null: any light"
    )
    volume_bits = serializers.IntegerField(help_text="data volume of the image")
    template = serializers.IntegerField(help_text="id of the tile job template run on the downlinked image")


class RequestCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ImagingRequestFilter(ScopedFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=RequestState.choices)

    class Meta:
        model = ImagingRequest
        fields = ["state"]


class ImagingRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Imaging requests: pending → planned → imaged → downlinked → processed (→ failed / expired / canceled)."""

    serializer_class = ImagingRequestSerializer
    filterset_class = ImagingRequestFilter

    def get_queryset(self):
        return selectors.requests_visible_to(self.request.user)

    @extend_schema(request=ImagingRequestCreateSerializer, responses={201: ImagingRequestSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ImagingRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = organization_for_create(
            request.user, data.pop("organization", None), roles=OPERATING_ROLES, action="create imaging requests"
        )
        created = services.create_request(organization=organization, actor=request.user, **data)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RequestCancelSerializer, responses=ImagingRequestSerializer, summary="Cancel a request")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        imaging_request = self.get_object()
        require_role(request.user, imaging_request.organization, *OPERATING_ROLES, action="cancel this request")
        serializer = RequestCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        imaging_request = services.cancel_request(
            request=imaging_request, actor=request.user, reason=serializer.validated_data.get("reason", "")
        )
        return Response(self.get_serializer(imaging_request).data)


class SlotSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    request_name = serializers.CharField(source="request.name", read_only=True)

    class Meta:
        model = ImagingSlot
        fields = [
            "id",
            "request",
            "request_name",
            "spacecraft",
            "designation",
            "start",
            "end",
            "elevation_deg",
            "downlink",
            "command",
            "state",
        ]


class DownlinkSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)

    class Meta:
        model = Downlink
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "pass_ref",
            "start",
            "end",
            "capacity_bits",
            "load_bits",
            "state",
        ]


class PlanSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    slots = SlotSerializer(many=True, read_only=True)
    downlinks = DownlinkSerializer(many=True, read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "organization",
            "start",
            "end",
            "trigger",
            "solver",
            "status",
            "value",
            "greedy_value",
            "bound",
            "gap",
            "time_limit_s",
            "wall_s",
            "stats",
            "created_at",
            "slots",
            "downlinks",
        ]
        read_only_fields = fields


class PlanSummarySerializer(PlanSerializer):
    class Meta(PlanSerializer.Meta):
        fields = [f for f in PlanSerializer.Meta.fields if f not in ("slots", "downlinks", "stats")]
        read_only_fields = fields


class RecomputeSerializer(serializers.Serializer):
    organization = OrganizationSlugField(required=False, help_text="Organization slug; defaults to your only one.")
    # The services' bounds, stated here too so the schema shows them and no float overflows a timedelta.
    horizon_h = serializers.FloatField(default=72.0, min_value=1, max_value=168, help_text="hours from now")
    time_limit_s = serializers.FloatField(
        default=services.DEFAULT_TIME_LIMIT_S, min_value=0.1, max_value=600, help_text="CP-SAT time limit"
    )


class LostSerializer(serializers.Serializer):
    downlink = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Plans, newest first; the newest of an organization is its current plan."""

    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        plans = selectors.plans_visible_to(self.request.user)
        return selectors.plan_detail(plans) if self.action != "list" else plans

    def get_serializer_class(self):
        return PlanSummarySerializer if self.action == "list" else PlanSerializer

    @extend_schema(
        request=RecomputeSerializer,
        responses={201: PlanSerializer},
        summary="Compute the plan from now (CP-SAT within the time limit, greedy as fallback)",
    )
    @action(detail=False, methods=["post"])
    def recompute(self, request):
        serializer = RecomputeSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = organization_for_create(
            request.user, data.get("organization"), roles=OPERATING_ROLES, action="compute plans"
        )
        plan = services.compute_plan(
            organization=organization,
            actor=request.user,
            trigger="recompute (API)",
            horizon=timedelta(hours=data["horizon_h"]),
            time_limit_s=data["time_limit_s"],
        )
        plan = selectors.plan_detail(Plan.objects.filter(pk=plan.pk)).get()
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LostSerializer, responses=DownlinkSerializer, summary="Report a planned contact lost")
    @action(detail=True, methods=["post"], url_path="lost-contact")
    def lost_contact(self, request, pk=None):
        plan = self.get_object()
        require_role(request.user, plan.organization, *OPERATING_ROLES, action="report lost contacts")
        serializer = LostSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        downlink = Downlink.objects.filter(plan=plan, pk=serializer.validated_data["downlink"]).first()
        if downlink is None:
            raise serializers.ValidationError(
                {"downlink": [f"no downlink {serializer.validated_data['downlink']} in this plan"]}
            )
        downlink = services.mark_downlink_lost(
            downlink=downlink, actor=request.user, reason=serializer.validated_data.get("reason", "")
        )
        return Response(DownlinkSerializer(downlink).data)
