from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from spacecraft.selectors import spacecraft_visible_to

from . import selectors


@login_required
def orbit_map(request):
    return render(
        request,
        "orbits/map.html",
        {
            "area": "orbits",
            "stations": selectors.stations_visible_to(request.user),
            "spacecraft": spacecraft_visible_to(request.user).filter(tles__isnull=False).distinct(),
        },
    )


@login_required
def pass_timeline(request):
    now = timezone.now()
    return render(
        request,
        "orbits/passes.html",
        {
            "area": "orbits",
            "now": now,
            "stations": selectors.stations_visible_to(request.user),
            "next_passes": selectors.next_passes_by_spacecraft(request.user, now=now),
            "plan": selectors.contact_plans_visible_to(request.user).first(),
        },
    )
