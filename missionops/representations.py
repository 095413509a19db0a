"""How the platform's objects are shown: the one serializer of an event, used by the REST API, the
live `events` topic, webhooks and the event stream alike, and `represent`, which renders any
serializer's output to the JSON values the API sends."""

import json

from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from .event_text import describe
from .models import Event

# One instance per serializer class for representations without options: DRF builds a serializer's
# fields on its first use (about 1 ms for a job's 30), and live messages are made per change.
# to_representation keeps no state on the serializer, so one instance serves every thread.
_shared: dict[type, serializers.BaseSerializer] = {}


def represent(serializer_class: type[serializers.BaseSerializer], instance, **kwargs):
    """`serializer_class`'s representation of `instance` as plain JSON values, exactly as the REST
    API renders it (DRF's encoder: the same times, decimals and UUIDs as an answer's body).
    `kwargs` (`many`, `context`) go to the serializer."""
    if kwargs:
        data = serializer_class(instance, **kwargs).data
    else:
        serializer = _shared.get(serializer_class) or _shared.setdefault(serializer_class, serializer_class())
        data = serializer.to_representation(instance)
    return json.loads(json.dumps(data, cls=JSONEncoder))


class EventSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    actor = serializers.CharField(source="actor_repr", read_only=True)
    subject = serializers.CharField(source="subject_repr", read_only=True)
    spacecraft = serializers.UUIDField(source="spacecraft_id", read_only=True, allow_null=True)
    summary = serializers.SerializerMethodField(help_text="The event as one sentence for people.")

    class Meta:
        model = Event
        fields = [
            "id",
            "organization",
            "kind",
            "subject_type",
            "subject_id",
            "subject",
            "spacecraft",
            "actor",
            "payload",
            "created_at",
            "summary",
        ]

    def get_summary(self, event) -> str:
        return describe(event)
