"""Reads of anomalies, always on behalf of a user: nothing outside the spacecraft they may view."""

import datetime as dt
from collections import Counter

import django_filters
from django.conf import settings
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.utils import timezone

from missionops.filters import ScopedFilterSet, UTCDateTimeFilter
from missionops.models import Event, Membership
from spacecraft.selectors import spacecraft_visible_to
from telemetry.models import LatestValue

from . import config
from .exceptions import AnalysisInputError
from .models import AlarmPolicy, AlarmState, Anomaly, DetectorKind, Severity

KPI_BUCKET = dt.timedelta(minutes=10)
MAX_KPI_RANGE = dt.timedelta(days=31)
STANDING_AFTER = dt.timedelta(hours=24)


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
    rows = (
        anomalies_visible_to(user)
        .filter(suppressed_by="")
        .aggregate(
            open_critical=Count("id", filter=Q(state=AlarmState.OPEN, severity=Severity.CRITICAL)),
            open_warning=Count("id", filter=Q(state=AlarmState.OPEN, severity=Severity.WARNING)),
            acknowledged=Count("id", filter=Q(state=AlarmState.ACKNOWLEDGED)),
            shelved=Count("id", filter=Q(state=AlarmState.SHELVED)),
            active=Count("id", filter=Q(cleared_at__isnull=True) & ~Q(state=AlarmState.RESOLVED)),
        )
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


def annunciated(queryset: QuerySet[Anomaly]) -> QuerySet[Anomaly]:
    """Alarms that reached the operator: live ones, neither played back nor suppressed by design."""
    return queryset.filter(is_late=False, suppressed_by="")


def flood_status(user, *, now: dt.datetime | None = None) -> dict:
    """Whether the console is in flood (more than ANOMALY_FLOOD_ALARMS new alarms within
    ANOMALY_FLOOD_WINDOW_S), and the new alarms grouped by spacecraft and subsystem, largest first."""
    now = now or timezone.now()
    window = dt.timedelta(seconds=config.flood_window_s())
    recent = annunciated(anomalies_visible_to(user)).filter(created_at__gte=now - window)
    groups = list(
        recent.values(designation=F("spacecraft__designation"), group=F("subsystem"))
        .annotate(count=Count("id"))
        .order_by("-count", "designation", "group")
    )
    count = sum(g["count"] for g in groups)
    return {
        "flood": count > config.flood_threshold(),
        "count": count,
        "threshold": config.flood_threshold(),
        "window_min": round(window.total_seconds() / 60),
        "groups": groups,
    }


def last_contact(spacecraft_ids) -> dict:
    """{spacecraft id: time of its newest sample}."""
    rows = (
        LatestValue.objects.filter(parameter__spacecraft_id__in=list(spacecraft_ids))
        .values("parameter__spacecraft_id")
        .annotate(last=Max("time"))
    )
    return {row["parameter__spacecraft_id"]: row["last"] for row in rows}


def out_of_contact(spacecraft_ids, *, now: dt.datetime | None = None) -> dict:
    """{spacecraft id: last contact} of those silent longer than ANOMALY_CONTACT_LOST_S: their
    alarms are shown as stale (their condition is not known now) rather than raised again."""
    now = now or timezone.now()
    lost = dt.timedelta(seconds=float(settings.ANOMALY_CONTACT_LOST_S))
    return {pk: last for pk, last in last_contact(spacecraft_ids).items() if last < now - lost}


def on_call_missing(user) -> list[str]:
    """Names of the user's organizations whose escalation has nobody to page."""
    orgs = Membership.objects.filter(user=user).select_related("organization")
    with_policy = dict(
        AlarmPolicy.objects.filter(organization__memberships__user=user).values_list(
            "organization_id", "on_call_emails"
        )
    )
    default = list(settings.ANOMALY_ON_CALL_EMAILS)
    missing = []
    for membership in orgs:
        emails = with_policy.get(membership.organization_id, default)
        if not emails:
            missing.append(membership.organization.name)
    return missing


def kpi_range(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[since, until), by default the last 24 h, at most 31 days; 400 naming the field."""
    until = until or timezone.now()
    since = since or until - dt.timedelta(hours=24)
    if since >= until:
        raise AnalysisInputError("must lie before until", field="since")
    if until - since > MAX_KPI_RANGE:
        raise AnalysisInputError("the range is at most 31 days", field="since")
    return since, until


def alarm_kpis(user, *, since: dt.datetime, until: dt.datetime, now: dt.datetime | None = None) -> dict:
    """ISA-18.2 §16 style performance of the console over [since, until): new alarms per 10 minutes
    (average, peak, the series), the share of 10-minute intervals in flood, the ten most frequent
    alarms (bad actors, counting each return), standing alarms older than 24 h, chattering alarms
    and alarms still shelved past their time. Counts only alarms that reached the operator."""
    now = now or timezone.now()
    visible = annunciated(anomalies_visible_to(user))
    in_range = visible.filter(created_at__gte=since, created_at__lt=until)
    buckets = max(1, -(-(until - since) // KPI_BUCKET))
    counts = Counter(int((created - since) // KPI_BUCKET) for created in in_range.values_list("created_at", flat=True))
    series = [{"start": since + i * KPI_BUCKET, "count": counts.get(i, 0)} for i in range(buckets)]
    threshold = config.flood_threshold()
    total = sum(counts.values())
    bad_actors = list(
        in_range.values(designation=F("spacecraft__designation"), name=F("parameter_name"))
        .annotate(alarms=Count("id"), returned=Sum("returns"))
        .order_by()
    )
    for row in bad_actors:
        row["parameter"], row["returns"] = row.pop("name"), row.pop("returned") or 0
        row["activations"] = row["alarms"] + row["returns"]
    bad_actors.sort(key=lambda r: (-r["activations"], r["designation"], r["parameter"]))

    def rows(queryset):
        return [
            {
                "id": a.pk,
                "designation": a.spacecraft.designation,
                "parameter": a.parameter_name,
                "severity": a.severity,
                "state": a.state,
                "started_at": a.started_at,
                "shelved_until": a.shelved_until,
                "returns": a.returns,
            }
            for a in queryset.order_by("started_at")[:100]
        ]

    return {
        "since": since,
        "until": until,
        "bucket_s": int(KPI_BUCKET.total_seconds()),
        "new_alarms": total,
        "per_10_min_average": round(total / buckets, 2),
        "per_10_min_peak": max(counts.values(), default=0),
        "flood_threshold": threshold,
        "flood_time_pct": round(100.0 * sum(1 for c in counts.values() if c > threshold) / buckets, 1),
        "series": series,
        "bad_actors": bad_actors[:10],
        "standing": rows(
            visible.filter(cleared_at__isnull=True, closed_at__isnull=True, started_at__lt=now - STANDING_AFTER)
        ),
        "chattering": rows(
            visible.filter(chattering=True, created_at__lt=until).filter(
                Q(closed_at__isnull=True) | Q(closed_at__gte=since)
            )
        ),
        "shelved_overdue": rows(visible.filter(state=AlarmState.SHELVED, shelved_until__lt=now)),
    }
