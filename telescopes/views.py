"""Dashboard pages: the telescopes page (devices, status lights, pointing, slew form, operations,
last exposure, observation sessions), a session's page, and the ground-segment health page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from missionops.health import platform_health

from . import selectors
from .models import DeviceType


@login_required
def telescopes_page(request):
    overview = selectors.telescopes_overview(request.user)
    for block in overview:
        block["telescopes"] = [d for d in block["devices"] if d.device_type == DeviceType.TELESCOPE]
        block["cameras"] = [d for d in block["devices"] if d.device_type == DeviceType.CAMERA]
    return render(
        request,
        "telescopes/index.html",
        {
            "area": "telescopes",
            "overview": overview,
            "last_exposure": selectors.exposures_visible_to(request.user).first(),
            "sessions": selectors.sessions_visible_to(request.user)[:20],
        },
    )


@login_required
def session_page(request, pk):
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    return render(
        request,
        "telescopes/session.html",
        {"area": "telescopes", "session": session, "exposures": session.exposures.all()[:50]},
    )


@login_required
def health_page(request):
    return render(
        request,
        "missionops/health.html",
        {
            "area": "health",
            "report": platform_health(),
            "devices": selectors.devices_visible_to(request.user).order_by("observatory__name", "device_type"),
        },
    )
