"""How the telescopes' objects are shown: the serializers the REST API answers with and the live
messages on `telescopes` carry (`{"kind": ..., "data": <this representation>}`): devices, their
operations, observation sessions, exposures."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from missionops.api import username_field
from orbits import element_sets
from orbits.representations import ElementSetUseSerializer

from . import selectors
from .models import AlpacaDevice, Exposure, ObservationSession, Observatory, Operation, OperationKind
from .status_text import status_words


class DeviceSerializer(serializers.ModelSerializer):
    observatory = serializers.PrimaryKeyRelatedField(queryset=Observatory.objects.none())
    status_text = serializers.SerializerMethodField(help_text="`status` in words, as the pages show it.")

    class Meta:
        model = AlpacaDevice
        fields = [
            "id",
            "observatory",
            "device_type",
            "device_number",
            "host",
            "port",
            "unique_id",
            "name",
            "health_status",
            "health_detail",
            "status",
            "status_text",
            "last_checked_at",
            "last_seen_at",
            "created_at",
        ]
        read_only_fields = [
            "unique_id",
            "name",
            "health_status",
            "health_detail",
            "status",
            "last_checked_at",
            "last_seen_at",
        ]
        validators = []

    def get_status_text(self, device) -> str:
        return status_words(device.status or {})

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["observatory"].queryset = selectors.observatories_visible_to(request.user)
        return fields


class OperationSerializer(serializers.ModelSerializer):
    # A plain string in the schema: an enum named "kind" would collide with other apps' "kind" enums.
    kind = serializers.CharField(read_only=True, help_text=f"one of: {', '.join(OperationKind.values)}")
    requested_by = username_field("requested_by")
    result = serializers.SerializerMethodField()

    class Meta:
        model = Operation
        fields = [
            "id",
            "device",
            "kind",
            "params",
            "status",
            "error",
            "result",
            "requested_by",
            "timeout_s",
            "deadline",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_result(self, operation) -> dict:
        return {k: v for k, v in operation.result.items() if not k.startswith("_")}


class SessionSerializer(serializers.ModelSerializer):
    exposures = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    spacecraft = serializers.UUIDField(source="spacecraft_id")
    element_set = serializers.SerializerMethodField(
        help_text="the set tracked with (nearest epoch to the tracked start), its age over the session"
    )
    allow_stale = serializers.BooleanField(
        write_only=True, default=False, help_text="track even with a set past its hard age limit"
    )
    can_abort = serializers.BooleanField(source="is_open", read_only=True, help_text="scheduled or running")

    class Meta:
        model = ObservationSession
        fields = [
            "id",
            "observatory",
            "telescope",
            "camera",
            "spacecraft",
            "start",
            "end",
            "step_s",
            "exposure_every_s",
            "exposure_s",
            "rehearsal_offset_s",
            "allow_stale",
            "element_set",
            "status",
            "error",
            "max_pointing_error_deg",
            "can_abort",
            "track",
            "pointing",
            "exposures",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [
            "status",
            "error",
            "max_pointing_error_deg",
            "track",
            "pointing",
            "exposures",
            "created_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(ElementSetUseSerializer(allow_null=True))
    def get_element_set(self, session: ObservationSession) -> dict | None:
        if session.element_set is None:
            return None
        offset = timedelta(seconds=session.rehearsal_offset_s)
        use = element_sets.use(session.element_set, session.start + offset, session.end + offset)
        return ElementSetUseSerializer(use.as_dict()).data

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["observatory"].queryset = selectors.observatories_visible_to(request.user)
            fields["telescope"].queryset = selectors.devices_visible_to(request.user)
            fields["camera"].queryset = selectors.devices_visible_to(request.user)
        return fields


class ExposureSerializer(serializers.ModelSerializer):
    fits_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = Exposure
        fields = [
            "id",
            "camera",
            "operation",
            "session",
            "started_at",
            "duration_s",
            "light",
            "width",
            "height",
            "binning",
            "pointing",
            "stats",
            "fits_url",
            "preview_url",
        ]

    def get_fits_url(self, exposure) -> str:
        return f"/api/v1/exposures/{exposure.pk}/fits/"

    def get_preview_url(self, exposure) -> str:
        return f"/api/v1/exposures/{exposure.pk}/preview/"
