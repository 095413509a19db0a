"""How an alarm is shown: its one serializer, used by the REST API, the live `alarms` and `sc.<id>`
topics and the events that record its changes alike."""

from rest_framework import serializers

from missionops.api import username_field

from .models import AlarmState, Anomaly, DetectorKind, IsaState, Severity


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
    can_acknowledge = serializers.BooleanField(read_only=True, help_text="open: acknowledge applies")
    can_shelve = serializers.BooleanField(read_only=True, help_text="open or acknowledged: shelve applies")
    can_unshelve = serializers.BooleanField(read_only=True, help_text="shelved: unshelve applies")
    can_resolve = serializers.BooleanField(read_only=True, help_text="not resolved yet: resolve applies")

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
            "can_acknowledge",
            "can_shelve",
            "can_unshelve",
            "can_resolve",
        ]
        read_only_fields = fields
