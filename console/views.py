from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

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
