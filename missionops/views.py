from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .health import UNHEALTHY, platform_health
from .models import Event
from .tenancy import organizations_for


@never_cache
def health(request):
    """Public liveness/readiness probe: 200 unless a component is Unhealthy (then 503)."""
    report = platform_health()
    return JsonResponse(report, status=503 if report["status"] == UNHEALTHY else 200)


@login_required
def events(request):
    recent = Event.objects.filter(organization__in=organizations_for(request.user)).select_related("organization")[:100]
    return render(request, "missionops/events.html", {"events": recent, "area": "events"})


AREAS = {
    "telemetry": "Telemetry",
    "alarms": "Alarms",
    "orbits": "Orbits",
    "jobs": "Jobs",
    "telescopes": "Telescopes",
    "documents": "Documents",
}


@login_required
def area_not_built(request, area: str):
    """Navigation targets for areas whose capability has not landed yet: says so plainly."""
    return render(request, "missionops/area_pending.html", {"area": area, "title": AREAS[area]})
