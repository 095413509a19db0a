"""REST API for anomalies: the list with filters, detail with context and timeline, the alarm
workflow (acknowledge / shelve / unshelve / resolve / comment / assign / tags), bulk actions, nav
counts, and the read-only analysis of recent telemetry."""

import datetime as dt
import uuid

from django.db.models import Prefetch
from django.http import Http404, QueryDict
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from missionops.api import username_field
from missionops.replicas import read_lag_tolerant
from spacecraft.selectors import spacecraft_visible_to
from telemetry.models import ParameterDefinition

from . import detection, selectors, services
from .exceptions import AnalysisInputError
from .models import AlarmState, Anomaly, AnomalyComment, DetectorKind, IsaState, Severity
from .recording import Target


class DetectorRecordSerializer(serializers.Serializer):
    """One detector that fired on an alarm."""

    # A plain string in the schema: an enum named "kind" would collide with other apps' "kind" enums.
    kind = serializers.CharField(help_text="the detector: " + ", ".join(DetectorKind.values))
    severity = serializers.ChoiceField(choices=Severity.choices)
    threshold = serializers.CharField()
    threshold_value = serializers.FloatField(allow_null=True)
    first_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField()
    peak_value = serializers.FloatField(allow_null=True)
    peak_at = serializers.DateTimeField(allow_null=True)
    critical_since = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField(help_text="Its condition still holds.")
    cleared_at = serializers.DateTimeField(allow_null=True)


class AnomalySerializer(serializers.ModelSerializer):
    spacecraft = serializers.UUIDField(source="spacecraft_id", read_only=True)
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parameter = serializers.CharField(source="parameter_name", read_only=True)
    detector = serializers.ChoiceField(choices=DetectorKind.choices, read_only=True)
    severity = serializers.ChoiceField(choices=Severity.choices, read_only=True)
    state = serializers.ChoiceField(choices=AlarmState.choices, read_only=True)
    acknowledged_by = username_field("acknowledged_by")
    shelved_by = username_field("shelved_by")
    resolved_by = username_field("resolved_by")
    assignee = username_field("assignee")
    is_active = serializers.BooleanField(read_only=True)
    detectors = DetectorRecordSerializer(many=True, read_only=True)
    isa_state = serializers.ChoiceField(choices=IsaState.choices, read_only=True)

    class Meta:
        model = Anomaly
        fields = [
            "id",
            "organization",
            "spacecraft",
            "designation",
            "parameter",
            "subsystem",
            "units",
            "detector",
            "detectors",
            "severity",
            "state",
            "isa_state",
            "threshold",
            "threshold_value",
            "message",
            "mode",
            "started_at",
            "detected_at",
            "last_seen_at",
            "cleared_at",
            "is_active",
            "peak_value",
            "peak_at",
            "sample_count",
            "critical_since",
            "latching",
            "latched",
            "is_late",
            "suppressed_by",
            "returns",
            "chattering",
            "activations",
            "closed_at",
            "escalation_level",
            "escalated_at",
            "acknowledged_by",
            "acknowledged_at",
            "shelved_by",
            "shelved_at",
            "shelved_until",
            "resolved_by",
            "resolved_at",
            "assignee",
            "tags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer):
    author = username_field("author")

    class Meta:
        model = AnomalyComment
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    actor = serializers.CharField()
    note = serializers.CharField()
    detail = serializers.DictField()


class AnomalyDetailSerializer(AnomalySerializer):
    # A plain string here, so the state enum belongs to one component (AnomalyStateEnum).
    state = serializers.CharField(read_only=True, help_text="open, acknowledged, shelved, out_of_service or resolved")
    context = serializers.DictField(read_only=True, help_text="The subsystem's other parameters at onset.")
    comments = CommentSerializer(many=True, read_only=True)
    timeline = serializers.SerializerMethodField()

    class Meta(AnomalySerializer.Meta):
        fields = [*AnomalySerializer.Meta.fields, "context", "comments", "timeline"]
        read_only_fields = fields

    @extend_schema_field(TimelineItemSerializer(many=True))
    def get_timeline(self, anomaly):
        return TimelineItemSerializer(selectors.timeline(anomaly), many=True).data


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class ShelveSerializer(NoteSerializer):
    until = serializers.DateTimeField(required=False, help_text="ISO 8601 with offset; or give duration_s")
    duration_s = serializers.IntegerField(required=False, min_value=1, max_value=7 * 86400)

    def validate(self, attrs):
        if "until" not in attrs:
            if "duration_s" not in attrs:
                raise serializers.ValidationError({"until": ["give until or duration_s"]})
            attrs["until"] = timezone.now() + dt.timedelta(seconds=attrs["duration_s"])
        return attrs


class CommentInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, help_text="username of an operator; null to unassign")


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=10)


class AlarmBulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=services.BulkAction.ALL)
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=1000)
    filter = serializers.DictField(
        required=False, help_text="the list's filters (state, severity, spacecraft, ...) to act on every match"
    )
    until = serializers.DateTimeField(required=False, help_text="for shelve")
    duration_s = serializers.IntegerField(required=False, min_value=1, max_value=7 * 86400)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")

    def validate_filter(self, value) -> QueryDict:
        """The filter as the list's query string would give it: a string per filter (true/false for
        a yes/no one), a list of strings for state. Unknown names are refused, not ignored: a
        misspelled filter must not widen an action to every alarm."""
        known = set(selectors.AnomalyFilter.base_filters)
        params = QueryDict(mutable=True)
        for name, given in value.items():
            if name not in known:
                raise serializers.ValidationError({name: [f"unknown filter; one of {', '.join(sorted(known))}"]})
            if given is None:
                continue
            if name == "state" and isinstance(given, list):
                if not all(isinstance(v, str) for v in given):
                    raise serializers.ValidationError({name: ["must be a state or a list of states"]})
                params.setlist(name, given)
            elif isinstance(given, bool):
                params[name] = "true" if given else "false"
            elif isinstance(given, str | int | float):
                params[name] = str(given)
            else:
                raise serializers.ValidationError({name: ["must be a string, a number or true/false"]})
        return params

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"ids": ["give either ids or filter"]})
        if attrs["action"] == services.BulkAction.SHELVE and "until" not in attrs:
            if "duration_s" not in attrs:
                raise serializers.ValidationError({"until": ["shelving needs until or duration_s"]})
            attrs["until"] = timezone.now() + dt.timedelta(seconds=attrs["duration_s"])
        return attrs


AlarmBulkResultSerializer = inline_serializer(
    "AlarmBulkResult",
    {
        "action": serializers.CharField(),
        "changed": serializers.ListField(child=serializers.IntegerField()),
        "skipped": serializers.ListField(child=serializers.DictField()),
    },
)
CountsSerializer = inline_serializer(
    "AlarmCounts",
    {
        "open": serializers.IntegerField(),
        "open_critical": serializers.IntegerField(),
        "open_warning": serializers.IntegerField(),
        "acknowledged": serializers.IntegerField(),
        "shelved": serializers.IntegerField(),
        "active": serializers.IntegerField(),
    },
)


class KpiAlarmSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    designation = serializers.CharField()
    parameter = serializers.CharField()
    severity = serializers.CharField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    shelved_until = serializers.DateTimeField(allow_null=True)
    returns = serializers.IntegerField()


class BadActorSerializer(serializers.Serializer):
    designation = serializers.CharField()
    parameter = serializers.CharField()
    alarms = serializers.IntegerField()
    returns = serializers.IntegerField(allow_null=True)
    activations = serializers.IntegerField(help_text="alarms plus their returns")


class KpiBucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    count = serializers.IntegerField()


class KpiSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    bucket_s = serializers.IntegerField()
    new_alarms = serializers.IntegerField()
    per_10_min_average = serializers.FloatField()
    per_10_min_peak = serializers.IntegerField()
    flood_threshold = serializers.IntegerField()
    flood_time_pct = serializers.FloatField(
        help_text="share of 10-minute intervals with more new alarms than the threshold"
    )
    series = KpiBucketSerializer(many=True)
    bad_actors = BadActorSerializer(many=True)
    standing = KpiAlarmSerializer(many=True, help_text="active for more than 24 h")
    chattering = KpiAlarmSerializer(many=True)
    shelved_overdue = KpiAlarmSerializer(many=True, help_text="still shelved past their time")


class FloodGroupSerializer(serializers.Serializer):
    designation = serializers.CharField()
    group = serializers.CharField(help_text="subsystem")
    count = serializers.IntegerField()


class FloodSerializer(serializers.Serializer):
    flood = serializers.BooleanField()
    count = serializers.IntegerField()
    threshold = serializers.IntegerField()
    window_min = serializers.IntegerField()
    groups = FloodGroupSerializer(many=True)


def _workflow_schema(summary, request=None, response=AnomalySerializer):
    return extend_schema(summary=summary, request=request, responses={200: response, 403: None, 404: None, 409: None})


@extend_schema_view(
    list=extend_schema(
        summary="Anomalies of your spacecraft, most urgent first (critical, then oldest)",
        parameters=[
            OpenApiParameter(
                "ordering", str, enum=["urgency", "-started_at", "started_at"], description="default: urgency"
            )
        ],
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
        ordering = self.request.query_params.get("ordering", "urgency")
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
        parameters=[
            OpenApiParameter("since", dt.datetime, description="ISO 8601 with offset; default: 24 h before until"),
            OpenApiParameter("until", dt.datetime, description="ISO 8601 with offset; default: now"),
        ],
        responses={200: KpiSerializer, 400: None},
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def kpis(self, request):
        since, until = selectors.kpi_range(request.query_params)
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


class FindingSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    subsystem = serializers.CharField()
    detector = serializers.ChoiceField(choices=DetectorKind.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    threshold = serializers.CharField()
    threshold_value = serializers.FloatField(allow_null=True)
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    peak_value = serializers.FloatField(allow_null=True)
    peak_at = serializers.DateTimeField(allow_null=True)
    sample_count = serializers.IntegerField()


class AnalysisSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    mode = serializers.CharField()
    samples = serializers.IntegerField()
    parameters = serializers.IntegerField()
    findings = FindingSerializer(many=True)


class AnalyzeView(APIView):
    """Run every detector over recent telemetry of one spacecraft; records nothing."""

    @extend_schema(
        summary="Detector findings on a spacecraft's recent telemetry (not persisted)",
        parameters=[
            OpenApiParameter("spacecraft", str, required=True, description="id or designation"),
            OpenApiParameter("limit", int, description="samples per parameter, 1-100000 (default 1000)"),
        ],
        responses={200: AnalysisSerializer, 400: None, 404: None},
    )
    def get(self, request):
        ref = request.query_params.get("spacecraft", "")
        if not ref:
            raise AnalysisInputError("required: the spacecraft's id or designation", field="spacecraft")
        try:
            limit = int(request.query_params.get("limit", 1000))
        except ValueError:
            raise AnalysisInputError("limit must be a whole number", field="limit") from None
        if not 1 <= limit <= 100_000:
            raise AnalysisInputError("limit must lie between 1 and 100000", field="limit")
        scope = spacecraft_visible_to(request.user)
        try:
            matches = list(scope.filter(pk=uuid.UUID(ref)))
        except ValueError:
            matches = list(scope.filter(designation=ref))
        if len(matches) != 1:
            raise Http404("no such spacecraft")
        return Response(detection.analyze(spacecraft=matches[0], limit=limit))


class ForecastSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    units = serializers.CharField()
    fitted_at = serializers.DateTimeField()
    fitted_value = serializers.FloatField()
    slope_per_s = serializers.FloatField()
    significant = serializers.BooleanField()
    limit_name = serializers.CharField(allow_null=True)
    limit = serializers.FloatField(allow_null=True)
    crosses_at = serializers.DateTimeField(allow_null=True)
    warns = serializers.BooleanField()
    window_s = serializers.FloatField()
    horizon_s = serializers.FloatField()
    projection = serializers.ListField(child=serializers.DictField(), help_text="two points: now, and the limit")


class ForecastView(APIView):
    """The time-to-limit forecast of one parameter now: what the telemetry chart draws dashed."""

    @extend_schema(
        summary="Time-to-limit forecast of one parameter (robust linear fit over its recent window)",
        parameters=[
            OpenApiParameter("spacecraft", str, required=True, description="id or designation"),
            OpenApiParameter("parameter", str, required=True),
        ],
        responses={200: ForecastSerializer, 204: None, 400: None, 404: None},
    )
    def get(self, request):
        spacecraft = _visible_spacecraft(request)
        name = request.query_params.get("parameter", "")
        if not name:
            raise AnalysisInputError("required: the parameter's name", field="parameter")
        definition = ParameterDefinition.objects.filter(spacecraft=spacecraft, name=name).first()
        if definition is None:
            raise Http404("no such parameter")
        specs = detection.current_specs([spacecraft.pk]).get(spacecraft.pk, {})
        target = Target(definition=definition, spacecraft=spacecraft, spec=detection.spec_of(definition, specs))
        found = detection.forecast_now(target=target)
        if found is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ForecastSerializer(found).data)


def _visible_spacecraft(request):
    ref = request.query_params.get("spacecraft", "")
    if not ref:
        raise AnalysisInputError("required: the spacecraft's id or designation", field="spacecraft")
    scope = spacecraft_visible_to(request.user)
    try:
        matches = list(scope.filter(pk=uuid.UUID(ref)))
    except ValueError:
        matches = list(scope.filter(designation=ref))
    if len(matches) != 1:
        raise Http404("no such spacecraft")
    return matches[0]
