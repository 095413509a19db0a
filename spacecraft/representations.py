"""How a spacecraft and a command are shown: the serializers the REST API answers with and the live
messages carry (`{"kind": ..., "data": <this representation>}`), so both use one set of names."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from missionops.api import UserOrganizationField, username_field

from . import selectors
from .models import Command, CommandState, ConfigVersion, MissionType, Mode, ReleaseMode, Spacecraft


class ConstellationField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.constellations_visible_to(self.context["request"].user)


# A spacecraft as everyone who may view it sees it: the live `state` messages carry this; the API's
# SpacecraftSerializer adds what depends on the caller (`can_operate`). Comments, not docstrings:
# a serializer's docstring is its description in the OpenAPI schema.
class SpacecraftRepresentation(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False, help_text="Organization slug; defaults to your only one.")
    constellation = ConstellationField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=Mode.choices, read_only=True)
    mission_type = serializers.ChoiceField(choices=MissionType.choices)
    config_version = serializers.SerializerMethodField()

    class Meta:
        model = Spacecraft
        fields = [
            "id",
            "organization",
            "designation",
            "name",
            "norad_id",
            "mission_type",
            "constellation",
            "mode",
            "battery_soc_pct",
            "memory_used_pct",
            "updated_at",
            "safe_soc_threshold_pct",
            "survival_soc_threshold_pct",
            "config_version",
            "created_at",
        ]
        read_only_fields = ["battery_soc_pct", "memory_used_pct", "updated_at", "created_at"]
        # Uniqueness per organization is checked by the service (409 naming the field).
        validators = []

    def get_config_version(self, sc) -> int | None:
        if hasattr(sc, "current_config_version"):  # annotated on the viewset's queryset
            return sc.current_config_version
        current = sc.current_config  # one spacecraft just created or changed
        return current.version if current else None


class SpacecraftField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.spacecraft_visible_to(self.context["request"].user)


class CommandSerializer(serializers.ModelSerializer):
    spacecraft = SpacecraftField()
    args = serializers.DictField(required=False, default=dict)
    state = serializers.ChoiceField(choices=CommandState.choices, read_only=True)
    release_mode = serializers.ChoiceField(choices=ReleaseMode.choices, default=ReleaseMode.IMMEDIATE)
    priority = serializers.IntegerField(min_value=1, max_value=9, default=5)
    ack_timeout_s = serializers.IntegerField(min_value=1, max_value=3600, default=30)
    created_by = username_field("created_by")
    approved_by = username_field("approved_by")
    canceled_by = username_field("canceled_by")
    awaiting_approval = serializers.BooleanField(read_only=True)
    can_cancel = serializers.BooleanField(read_only=True, help_text="Whether it may still be canceled (not sent yet).")
    waits_for = serializers.SerializerMethodField(
        help_text="A queued next-contact command: the scheduled contact that releases it (station, aos, los, plan)."
    )
    release_warning = serializers.SerializerMethodField(
        help_text="A queued next-contact command that no contact plan covers: why it may wait for ever."
    )

    class Meta:
        model = Command
        fields = [
            "id",
            "spacecraft",
            "name",
            "args",
            "priority",
            "release_mode",
            "ack_timeout_s",
            "critical",
            "state",
            "awaiting_approval",
            "can_cancel",
            "created_by",
            "approved_by",
            "canceled_by",
            "failure_reason",
            "result",
            "created_at",
            "approved_at",
            "released_at",
            "sent_at",
            "acknowledged_at",
            "finished_at",
            "waits_for",
            "release_warning",
        ]
        read_only_fields = [
            "critical",
            "failure_reason",
            "result",
            "created_at",
            "approved_at",
            "released_at",
            "sent_at",
            "acknowledged_at",
            "finished_at",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "station": {"type": "string"},
                "aos": {"type": "string", "format": "date-time"},
                "los": {"type": "string", "format": "date-time"},
                "plan": {"type": "integer"},
            },
        }
    )
    def get_waits_for(self, command) -> dict | None:
        return selectors.waits_for(command)

    def get_release_warning(self, command) -> str:
        return selectors.release_warning(command)


# A configuration version: the API's answer and the live `config` message on `sc.<id>`.
class ConfigVersionSerializer(serializers.ModelSerializer):
    parameters = serializers.DictField(
        child=serializers.DictField(),
        help_text="name -> {subsystem, units, type, warn_low, warn_high, crit_low, crit_high}",
    )
    created_by = username_field("created_by")

    class Meta:
        model = ConfigVersion
        fields = ["version", "parameters", "diff", "note", "created_by", "created_at"]
        read_only_fields = ["version", "diff", "created_by", "created_at"]
