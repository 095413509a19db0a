"""REST API for anomalies: the list with filters, detail with context and timeline, the alarm
workflow (acknowledge / shelve / unshelve / resolve / comment / assign / tags), bulk actions, nav
counts and KPIs. The read-only analysis of recent telemetry is in `api_analysis`."""

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from missionops.api import UTCDateTimeField, validated_query
from missionops.replicas import read_lag_tolerant

from . import selectors, services
from .models import Anomaly, AnomalyComment
from .serializers import (
    AlarmBulkResultSerializer,
    AlarmBulkSerializer,
    AnomalyDetailSerializer,
    AnomalySerializer,
    AssignSerializer,
    CommentInputSerializer,
    CommentSerializer,
    CountsSerializer,
    FloodSerializer,
    KpiSerializer,
    NoteSerializer,
    ShelveSerializer,
    TagsSerializer,
)


class AnomalyListQuery(serializers.Serializer):
    ordering = serializers.ChoiceField(choices=["urgency", "-started_at", "started_at"], default="urgency")


class KpiQuery(serializers.Serializer):
    since = UTCDateTimeField(required=False, help_text="default: 24 h before until")
    until = UTCDateTimeField(required=False, help_text="default: now")


def _workflow_schema(summary, request=None, response=AnomalySerializer):
    return extend_schema(summary=summary, request=request, responses={200: response, 403: None, 404: None, 409: None})


@extend_schema_view(
    list=extend_schema(
        summary="Anomalies of your spacecraft, most urgent first (critical, then oldest)",
        parameters=[AnomalyListQuery],
    ),
    retrieve=extend_schema(summary="One anomaly with its onset context, comments and timeline"),
)
class AnomalyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Anomaly episodes and their alarm workflow. Everyone in the organization may read; changing an
    alarm needs `operate_spacecraft` on its spacecraft (403 otherwise)."""

    filterset_class = selectors.AnomalyFilter
    queryset = Anomaly.objects.none()

    def get_queryset(self):
        qs = selectors.anomalies_visible_to(self.request.user)
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("comments", queryset=AnomalyComment.objects.select_related("author")))
        ordering = validated_query(AnomalyListQuery, self.request)["ordering"] if self.action == "list" else ""
        if ordering == "-started_at":
            return qs.order_by("-started_at", "-id")
        if ordering == "started_at":
            return qs.order_by("started_at", "id")
        return qs.by_urgency()

    def get_serializer_class(self):
        return AnomalyDetailSerializer if self.action == "retrieve" else AnomalySerializer

    def _done(self, anomaly):
        anomaly.refresh_from_db()
        return Response(AnomalySerializer(anomaly, context=self.get_serializer_context()).data)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @_workflow_schema(
        "Acknowledge an open alarm (stops escalation; clears a latched one back to normal)", NoteSerializer
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        data = self._input(NoteSerializer)
        return self._done(services.acknowledge(anomaly=self.get_object(), user=request.user, note=data["note"]))

    @_workflow_schema("Shelve an open or acknowledged alarm until a time (at most 7 days)", ShelveSerializer)
    @action(detail=True, methods=["post"])
    def shelve(self, request, pk=None):
        data = self._input(ShelveSerializer)
        anomaly = services.shelve(anomaly=self.get_object(), user=request.user, until=data["until"], note=data["note"])
        return self._done(anomaly)

    @_workflow_schema("Unshelve a shelved alarm now (it returns to the state it was shelved from)")
    @action(detail=True, methods=["post"])
    def unshelve(self, request, pk=None):
        return self._done(services.unshelve(anomaly=self.get_object(), user=request.user))

    @_workflow_schema("Take an alarm out of service (e.g. its sensor under maintenance)", NoteSerializer)
    @action(detail=True, methods=["post"], url_path="remove-from-service")
    def remove_from_service(self, request, pk=None):
        data = self._input(NoteSerializer)
        anomaly = services.remove_from_service(anomaly=self.get_object(), user=request.user, note=data["note"])
        return self._done(anomaly)

    @_workflow_schema("Return an out-of-service alarm to service (open again)", NoteSerializer)
    @action(detail=True, methods=["post"], url_path="return-to-service")
    def return_to_service(self, request, pk=None):
        data = self._input(NoteSerializer)
        anomaly = services.return_to_service(anomaly=self.get_object(), user=request.user, note=data["note"])
        return self._done(anomaly)

    @_workflow_schema("Resolve an alarm (final)", NoteSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        data = self._input(NoteSerializer)
        return self._done(services.resolve(anomaly=self.get_object(), user=request.user, note=data["note"]))

    @extend_schema(
        summary="Comment on an anomaly",
        request=CommentInputSerializer,
        responses={201: CommentSerializer, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        data = self._input(CommentInputSerializer)
        comment = services.add_comment(anomaly=self.get_object(), user=request.user, text=data["text"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @_workflow_schema("Assign to an operator of the organization (null: unassign)", AssignSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = self._input(AssignSerializer)
        return self._done(services.assign(anomaly=self.get_object(), user=request.user, username=data["assignee"]))

    @_workflow_schema("Replace the anomaly's tags", TagsSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        data = self._input(TagsSerializer)
        return self._done(services.set_tags(anomaly=self.get_object(), user=request.user, tags=data["tags"]))

    @extend_schema(
        summary="Acknowledge, shelve or resolve a selection (ids) or every match of a filter",
        request=AlarmBulkSerializer,
        responses={200: AlarmBulkResultSerializer, 403: None, 404: None},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = self._input(AlarmBulkSerializer)
        visible = selectors.anomalies_visible_to(request.user)
        if "ids" in data:
            wanted = set(data["ids"])
            targets = visible.filter(pk__in=wanted)
            missing = wanted - set(targets.values_list("pk", flat=True))
            if missing:
                raise Http404(f"no anomalies {sorted(missing)}")
        else:
            try:
                targets = selectors.filtered(request.user, data["filter"])
            except ValueError as error:
                raise serializers.ValidationError({"filter": error.args[0]}) from None
        outcome = services.bulk_apply(
            anomalies=targets.order_by("pk"),
            user=request.user,
            action=data["action"],
            until=data.get("until"),
            note=data["note"],
        )
        return Response(outcome)

    @extend_schema(
        summary="Alarm KPIs (ISA-18.2 §16): alarm rate per 10 minutes, time in flood, bad actors, standing, "
        "chattering and overdue shelved alarms",
        parameters=[KpiQuery],
        responses={200: KpiSerializer, 400: None},
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def kpis(self, request):
        since, until = selectors.kpi_range(**validated_query(KpiQuery, request))
        # KPIs tolerate replica lag (under REPLICA_MAX_LAG_S): read them there when one is set.
        kpis = read_lag_tolerant(
            lambda: selectors.alarm_kpis(request.user, since=since, until=until), user=request.user
        )
        return Response(KpiSerializer(kpis).data)

    @extend_schema(
        summary="Whether the console is in flood, with the new alarms grouped by spacecraft and subsystem",
        responses=FloodSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def flood(self, request):
        return Response(FloodSerializer(selectors.flood_status(request.user)).data)

    @extend_schema(summary="Alarm counts for the navigation bar", responses=CountsSerializer, filters=False)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def counts(self, request):
        return Response(selectors.alarm_counts(request.user))
