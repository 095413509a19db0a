"""Serializers of the anomalies REST API: alarms, their workflow inputs, bulk actions, KPIs and flood."""

import datetime as dt

from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from missionops.api import username_field

from . import selectors, services
from .models import AnomalyComment
from .representations import AnomalySerializer


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
