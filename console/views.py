from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from missionops.event_text import describe
from missionops.forms import EventFilterForm
from missionops.models import Event
from missionops.paging import paginate
from missionops.tenancy import visible_events
from spacecraft.selectors import spacecraft_visible_to

from . import selectors


@login_required
def overview(request):
    """The landing page: one tile per spacecraft and the fleet's counters. `?tiles=1` answers the
    tiles alone (the page refreshes them with it)."""
    now = timezone.now()
    tiles = selectors.fleet_tiles(request.user, now=now)
    context = {"tiles": tiles, "counters": selectors.fleet_counters(tiles), "now": now, "area": "overview"}
    template = "console/_tiles.html" if request.GET.get("tiles") == "1" else "console/overview.html"
    return render(request, template, context)


def event_link(event: Event) -> str:
    """Where an event's subject lives on the dashboard ('' when it has no page)."""
    if event.subject_type == "anomalies.anomaly" and event.subject_id:
        return reverse("anomaly-detail", args=[event.subject_id])
    if event.subject_type == "spacecraft.document" and event.subject_id:
        return reverse("spacecraft:document", args=[event.subject_id])
    if event.spacecraft_id:
        anchor = "#commands" if event.subject_type == "spacecraft.command" else ""
        return reverse("spacecraft:detail", args=[event.spacecraft_id]) + anchor
    if event.subject_type == "missionops.webhook":
        return reverse("webhooks")
    return ""


@login_required
def events(request):
    form = EventFilterForm(request.GET or None, spacecraft_choices=spacecraft_visible_to(request.user))
    found = visible_events(request.user).select_related("organization")
    if form.is_valid():
        kind, spacecraft = form.cleaned_data["kind"], form.cleaned_data["spacecraft"]
        if kind:
            found = found.filter(kind__startswith=kind) if kind.endswith(".") else found.filter(kind=kind)
        if spacecraft:
            found = found.filter(spacecraft_id=spacecraft.pk)
        if form.cleaned_data["since"]:
            found = found.filter(created_at__gte=form.cleaned_data["since"])
        if form.cleaned_data["until"]:
            found = found.filter(created_at__lt=form.cleaned_data["until"])
    table = paginate(
        request,
        found,
        sorts={"time": "created_at", "kind": "kind", "subject": "subject_repr", "actor": "actor_repr"},
        default="-time",
    )
    rows = [(event, event_link(event), describe(event)) for event in table.rows]
    return render(request, "missionops/events.html", {"rows": rows, "table": table, "form": form, "area": "events"})
