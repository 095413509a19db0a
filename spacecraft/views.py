from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from . import selectors
from .models import Mode


@login_required
def fleet(request):
    overview = selectors.fleet_overview(request.user)
    return render(request, "spacecraft/fleet.html", {**overview, "area": "fleet", "modes": Mode})


@login_required
def spacecraft_detail(request, pk):
    spacecraft = get_object_or_404(selectors.spacecraft_visible_to(request.user), pk=pk)
    versions = spacecraft.config_versions.select_related("created_by").order_by("-version")
    return render(
        request,
        "spacecraft/detail.html",
        {
            "sc": spacecraft,
            "area": "fleet",
            "config": versions.first(),
            "history": versions[:20],
            "events": selectors.recent_events(spacecraft=spacecraft),
            "can_operate": selectors.can_operate(request.user, spacecraft),
            "modes": Mode,
        },
    )
