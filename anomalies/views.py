"""The alarm console and anomaly pages. Changes go through the REST API (the same services), so
the pages hold no rules; `?partial=rows` returns just the list for live refreshes."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from missionops.paging import paginate
from missionops.replicas import read_lag_tolerant
from spacecraft.selectors import can_operate, operable_spacecraft_ids, spacecraft_visible_to

from . import selectors
from .exceptions import AnalysisInputError
from .models import AlarmState, DetectorKind, Severity

PAGE_ROWS = 50
ALARM_SORTS = {
    "urgency": None,
    "severity": "severity",
    "state": "state",
    "spacecraft": "spacecraft__designation",
    "parameter": "parameter_name",
    "started": "started_at",
    "last_seen": "last_seen_at",
}


@login_required
def alarms(request):
    params = request.GET.copy()
    if "state" not in params and not params.get("all"):
        params.setlist("state", [AlarmState.OPEN, AlarmState.ACKNOWLEDGED, AlarmState.SHELVED])
    params.pop("partial", None)
    params.pop("all", None)
    try:
        queryset = selectors.filtered(request.user, params)
        error = ""
    except ValueError as errors:
        queryset = selectors.anomalies_visible_to(request.user).none()
        error = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.args[0].items())
    table = paginate(request, queryset.by_urgency(), sorts=ALARM_SORTS, default="urgency", per_page=PAGE_ROWS)
    total, rows = table.count, list(table.rows)
    operable = operable_spacecraft_ids(request.user, spacecraft_visible_to(request.user))
    no_contact = selectors.out_of_contact({a.spacecraft_id for a in rows})
    for a in rows:
        a.no_contact_since = no_contact.get(a.spacecraft_id)
    context = {
        "rows": rows,
        "table": table,
        "total": total,
        "shown": len(rows),
        "operable": operable,
        "error": error,
        "area": "alarms",
        "fleet": spacecraft_visible_to(request.user).order_by("designation"),
        "states": AlarmState.choices,
        "severities": Severity.choices,
        "detectors": DetectorKind.choices,
        "selected_states": params.getlist("state"),
        "query": request.GET,
        "counts": selectors.alarm_counts(request.user),
        "flood": selectors.flood_status(request.user),
        "on_call_missing": selectors.on_call_missing(request.user),
    }
    if request.GET.get("partial") == "rows":
        return render(request, "anomalies/_rows.html", context)
    return render(request, "anomalies/alarms.html", context)


@login_required
def anomaly_detail(request, pk):
    anomaly = get_object_or_404(selectors.anomalies_visible_to(request.user), pk=pk)
    return render(
        request,
        "anomalies/detail.html",
        {
            "a": anomaly,
            "timeline": selectors.timeline(anomaly),
            "comments": anomaly.comments.select_related("author"),
            "can_operate": can_operate(request.user, anomaly.spacecraft),
            "area": "alarms",
        },
    )


def _kpi_times(params) -> dict:
    """`since` and `until` from the page's query, as the API reads them (with a UTC offset)."""
    times = {}
    for name in ("since", "until"):
        if text := params.get(name):
            try:
                moment = parse_datetime(text.replace(" ", "+"))
            except ValueError:  # well formed but no such day or hour
                moment = None
            if moment is None or moment.tzinfo is None:
                raise AnalysisInputError("must be an ISO 8601 time with a UTC offset", field=name)
            times[name] = moment
    return times


@login_required
def alarm_kpis(request):
    """The alarm system's performance (ISA-18.2 §16) over a chosen range (default: the last 24 h)."""
    error = ""
    try:
        since, until = selectors.kpi_range(**_kpi_times(request.GET))
    except AnalysisInputError as problem:
        error = f"{problem.field}: {problem}"
        until = timezone.now()
        since = until - dt.timedelta(hours=24)
    kpis = read_lag_tolerant(lambda: selectors.alarm_kpis(request.user, since=since, until=until), user=request.user)
    peak = max((b["count"] for b in kpis["series"]), default=0)
    return render(
        request,
        "anomalies/kpis.html",
        {"k": kpis, "error": error, "area": "alarms", "peak": max(peak, kpis["flood_threshold"]), "query": request.GET},
    )
