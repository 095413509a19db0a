"""Reads of anomalies, always on behalf of a user: nothing outside the spacecraft they may view."""

import django_filters
from django.db.models import Count, Q, QuerySet

from missionops.filters import ScopedFilterSet, UTCDateTimeFilter
from missionops.models import Event
from spacecraft.selectors import spacecraft_visible_to

from .models import AlarmState, Anomaly, DetectorKind, Severity


def anomalies_visible_to(user) -> QuerySet[Anomaly]:
    return Anomaly.objects.filter(spacecraft__in=spacecraft_visible_to(user)).select_related(
        "spacecraft", "organization", "assignee", "acknowledged_by", "resolved_by", "shelved_by"
    )


class AnomalyFilter(ScopedFilterSet):
    """The alarm list's filters; the same set selects the targets of a bulk action."""

    state = django_filters.MultipleChoiceFilter(choices=AlarmState.choices, help_text="repeat for several")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    spacecraft = django_filters.UUIDFilter(field_name="spacecraft_id")
    designation = django_filters.CharFilter(field_name="spacecraft__designation")
    parameter = django_filters.CharFilter(field_name="parameter_name")
    subsystem = django_filters.CharFilter()
    detector = django_filters.ChoiceFilter(
        choices=DetectorKind.choices, method="filter_detector", help_text="one of the detectors that fired"
    )
    since = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte", help_text="started at or after")
    until = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt", help_text="started before")
    active_since = UTCDateTimeFilter(
        method="filter_active_since", help_text="still active at or after: not cleared, or cleared at or after"
    )
    active = django_filters.BooleanFilter(field_name="cleared_at", lookup_expr="isnull", help_text="condition holds")
    late = django_filters.BooleanFilter(field_name="is_late", help_text="found in played-back telemetry")
    suppressed = django_filters.BooleanFilter(method="filter_suppressed", help_text="suppressed by design")
    chattering = django_filters.BooleanFilter()
    assignee = django_filters.CharFilter(field_name="assignee__username")
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")

    class Meta:
        model = Anomaly
        fields = [
            "state",
            "severity",
            "spacecraft",
            "designation",
            "parameter",
            "subsystem",
            "detector",
            "since",
            "until",
            "active_since",
            "active",
            "late",
            "suppressed",
            "chattering",
            "assignee",
            "tag",
        ]

    def filter_active_since(self, queryset, name, value):
        return queryset.filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=value))

    def filter_detector(self, queryset, name, value):
        return queryset.filter(detectors__contains=[{"kind": value}])

    def filter_suppressed(self, queryset, name, value):
        return queryset.exclude(suppressed_by="") if value else queryset.filter(suppressed_by="")

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])


def filtered(user, params) -> QuerySet[Anomaly]:
    """Anomalies the user may view that match `params` (a QueryDict or dict of filter values);
    raises ValueError with the form errors when a value is invalid."""
    filterset = AnomalyFilter(params, queryset=anomalies_visible_to(user))
    if not filterset.is_valid():
        raise ValueError(filterset.errors)
    return filterset.qs


def alarm_counts(user) -> dict:
    """What the navigation bar shows: unacknowledged alarms by severity, and the rest by state."""
    rows = anomalies_visible_to(user).aggregate(
        open_critical=Count("id", filter=Q(state=AlarmState.OPEN, severity=Severity.CRITICAL)),
        open_warning=Count("id", filter=Q(state=AlarmState.OPEN, severity=Severity.WARNING)),
        acknowledged=Count("id", filter=Q(state=AlarmState.ACKNOWLEDGED)),
        shelved=Count("id", filter=Q(state=AlarmState.SHELVED)),
        active=Count("id", filter=Q(cleared_at__isnull=True) & ~Q(state=AlarmState.RESOLVED)),
    )
    rows["open"] = rows["open_critical"] + rows["open_warning"]
    return rows


def timeline(anomaly: Anomaly) -> list[dict]:
    """Detection, state changes, escalations and comments of one anomaly, oldest first."""
    events = Event.objects.filter(
        organization_id=anomaly.organization_id, subject_type="anomalies.anomaly", subject_id=str(anomaly.pk)
    ).order_by("created_at")
    items = [
        {
            "at": e.created_at,
            "kind": e.kind,
            "actor": e.actor_repr,
            "note": e.payload.get("note") or e.payload.get("comment") or "",
            "detail": {k: e.payload[k] for k in ("level", "until", "to", "tags", "severity") if k in e.payload},
        }
        for e in events
    ]
    return items
