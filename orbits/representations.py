"""How the orbits app's objects are shown: the serializers the REST API answers with and the live
messages carry (`{"kind": ..., "data": <this representation>}`): passes, positions, close approaches."""

import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from missionops.api import UserOrganizationField

from . import element_sets
from .models import Conjunction, Contact, ContactPlan, Pass
from .scheduling import MAX_BITS


class FiniteFloatField(serializers.FloatField):
    """A float that is never NaN or Infinity in a response (JSON has neither): null instead."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return value if math.isfinite(value) else None


class PassSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)
    duration_s = serializers.FloatField(read_only=True)
    max_elevation_deg = FiniteFloatField(read_only=True, allow_null=True)
    aos_azimuth_deg = FiniteFloatField(read_only=True, allow_null=True)
    los_azimuth_deg = FiniteFloatField(read_only=True, allow_null=True)
    element_set = serializers.IntegerField(
        source="tle_id", read_only=True, allow_null=True, help_text="id of the element set the pass was computed with"
    )
    element_set_epoch = serializers.DateTimeField(source="tle.epoch", read_only=True, allow_null=True, default=None)
    element_set_age_days = serializers.SerializerMethodField(
        help_text="days from the set's epoch to the farther of aos and los (null: the set was deleted)"
    )
    element_set_warning = serializers.SerializerMethodField(help_text="set when past the set's warning age")

    class Meta:
        model = Pass
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "aos",
            "los",
            "tca",
            "duration_s",
            "max_elevation_deg",
            "aos_azimuth_deg",
            "los_azimuth_deg",
            "continuous",
            "element_set",
            "element_set_epoch",
            "element_set_age_days",
            "element_set_warning",
        ]

    def _use(self, obj: Pass) -> element_sets.ElementSetUse | None:
        return element_sets.use(obj.tle, obj.aos, obj.los) if obj.tle is not None else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_element_set_age_days(self, obj: Pass) -> float | None:
        use = self._use(obj)
        return round(use.age_days, 3) if use else None

    @extend_schema_field(serializers.CharField(allow_blank=True))
    def get_element_set_warning(self, obj: Pass) -> str:
        use = self._use(obj)
        return use.warning if use else ""


class ElementSetUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    norad_id = serializers.IntegerField()
    epoch = serializers.DateTimeField()
    age_days = serializers.FloatField(help_text="from the epoch to the farthest time predicted with it")
    used_from = serializers.DateTimeField()
    used_to = serializers.DateTimeField()
    warning = serializers.CharField(allow_blank=True)


# A propagated position (`orbits.services.Position`): the positions API and the live `positions`
# messages on `fleet`.
class PositionSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField(source="spacecraft.pk")
    designation = serializers.CharField(source="spacecraft.designation")
    at = serializers.DateTimeField()
    latitude_deg = serializers.FloatField()
    longitude_deg = serializers.FloatField()
    altitude_km = serializers.FloatField()
    speed_km_s = serializers.FloatField(help_text="inertial speed")
    sunlit = serializers.BooleanField(help_text="outside the Earth's shadow")
    tle_epoch = serializers.DateTimeField()
    tle_id = serializers.IntegerField(help_text="the element set used (nearest epoch, before `at` where one is)")
    tle_age_days = serializers.SerializerMethodField(help_text="days between the set's epoch and `at`")
    tle_warning = serializers.CharField(allow_blank=True, help_text="set when the set is past its warning age")

    def get_tle_age_days(self, p) -> float:
        return round(p.tle_age_days, 3)


class ConjunctionSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    miss_distance_km = FiniteFloatField(allow_null=True)
    radial_km = FiniteFloatField(allow_null=True, help_text="along the primary's position vector")
    in_track_km = FiniteFloatField(allow_null=True, help_text="along the primary's motion, in its orbit plane")
    cross_track_km = FiniteFloatField(allow_null=True, help_text="along the primary's orbit normal")
    relative_speed_km_s = FiniteFloatField(allow_null=True)

    class Meta:
        model = Conjunction
        fields = [
            "id",
            "spacecraft",
            "designation",
            "tle",
            "secondary_norad_id",
            "secondary_name",
            "secondary_epoch",
            "tca",
            "miss_distance_km",
            "radial_km",
            "in_track_km",
            "cross_track_km",
            "relative_speed_km_s",
            "critical",
            "screened_at",
        ]


# A contact plan: the API's answer and the live `plan` message on `passes`.
class ContactSerializer(serializers.ModelSerializer):
    designation = serializers.CharField(source="spacecraft.designation", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "spacecraft",
            "designation",
            "station",
            "station_name",
            "pass_ref",
            "start",
            "end",
            "volume_bits",
            "priority",
        ]


class UnservedSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    designation = serializers.CharField()
    priority = serializers.IntegerField()
    needed_bits = serializers.IntegerField()
    scheduled_bits = serializers.IntegerField()
    reason = serializers.CharField()


class ContactPlanItemSerializer(serializers.Serializer):
    spacecraft = serializers.UUIDField()
    priority = serializers.IntegerField(default=0, min_value=-1000, max_value=1000)
    volume_bits = serializers.IntegerField(min_value=1, max_value=MAX_BITS)


class ContactPlanSerializer(serializers.ModelSerializer):
    organization = UserOrganizationField(required=False)
    requests = ContactPlanItemSerializer(many=True, write_only=True)
    contacts = ContactSerializer(many=True, read_only=True)
    unserved = UnservedSerializer(many=True, read_only=True)
    requested = serializers.JSONField(source="requests", read_only=True)

    class Meta:
        model = ContactPlan
        fields = ["id", "organization", "start", "end", "requests", "requested", "contacts", "unserved", "created_at"]

    def validate_requests(self, value):
        if not value:
            raise serializers.ValidationError("give at least one request")
        return value
