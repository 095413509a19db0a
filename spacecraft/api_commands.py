"""REST API for the command queue and the command catalogue."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import NewestFirstCursorPagination, validated_query
from missionops.filters import ScopedFilterSet

from . import selectors, services
from .catalogue import catalogue_for
from .models import Command, CommandState, MissionType, Spacecraft
from .representations import CommandSerializer


def require_operate(user, spacecraft: Spacecraft, *, action: str) -> None:
    """403 unless the user may operate this spacecraft (the guardian object permission
    `operate_spacecraft`, which an organization's operators and admins get), worded like
    `missionops.api.require_role`: what is needed, on what, in which organization, to do what."""
    if not selectors.can_operate(user, spacecraft):
        raise PermissionDenied(
            f"you need the operate_spacecraft permission on {spacecraft.designation} "
            f"in organization '{spacecraft.organization.slug}' to {action}"
        )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class CommandFilter(ScopedFilterSet):
    state = django_filters.ChoiceFilter(choices=CommandState.choices)
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    name = django_filters.CharFilter()

    class Meta:
        model = Command
        fields = ["state", "spacecraft", "name"]


@extend_schema_view(
    list=extend_schema(summary="Commands of your spacecraft, newest first"),
    create=extend_schema(summary="Queue a command (operate_spacecraft); critical ones wait for approval"),
)
class CommandViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        return Command.objects.filter(spacecraft__in=selectors.spacecraft_visible_to(self.request.user)).select_related(
            "spacecraft", "created_by", "approved_by", "canceled_by"
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        require_operate(request.user, data["spacecraft"], action="queue commands for it")
        command = services.create_command(actor=request.user, **data)
        command.refresh_from_db()
        return Response(self.get_serializer(command).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CommandSerializer, summary="Approve a critical command (another operator)")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        command = self.get_object()
        require_operate(request.user, command.spacecraft, action="approve its commands")
        command = services.approve_command(command=command, actor=request.user)
        command.refresh_from_db()
        return Response(self.get_serializer(command).data)

    @extend_schema(request=CancelSerializer, responses=CommandSerializer, summary="Cancel a queued or released command")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        command = self.get_object()
        require_operate(request.user, command.spacecraft, action="cancel its commands")
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        command = services.cancel_command(
            command=command, actor=request.user, reason=body.validated_data.get("reason", "")
        )
        return Response(self.get_serializer(command).data)


class CatalogueQuery(serializers.Serializer):
    mission_type = serializers.ChoiceField(choices=MissionType.values)


class CatalogueView(APIView):
    """The commands a mission type accepts, with argument types and ranges."""

    @extend_schema(
        parameters=[CatalogueQuery],
        responses={200: {"type": "array", "items": {"type": "object"}}},
        summary="Command catalogue of a mission type",
    )
    def get(self, request):
        mission_type = validated_query(CatalogueQuery, request)["mission_type"]
        return Response([spec.describe() for spec in catalogue_for(mission_type).values()])
