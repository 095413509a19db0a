"""Dashboard pages: the telescopes page (devices, status lights, pointing, slew form, operations,
last exposure, observation sessions), a session's page, the form that starts a session from a
pass, and the ground-segment health page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from missionops.exceptions import DomainError
from missionops.health import platform_health
from missionops.models import OPERATING_ROLES
from spacecraft.selectors import spacecraft_visible_to

from . import selectors
from .forms import ObservationSessionForm
from .models import DeviceType
from .services import tracking


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


# The service's field names that are not fields of the form.
SESSION_FIELD_ON_FORM = {"start": "pass_tca", "end": "pass_tca", "rehearsal_offset_s": None}


@login_required
def session_new(request):
    """Start an observation session from a predicted pass (operators and admins of the observatory's
    organization). "Show passes" re-reads the passes of the observatory and spacecraft chosen;
    "Start session" validates through `tracking.start_session`, as the API does."""
    observatories = selectors.observatories_operated_by(request.user).order_by("name")
    spacecraft = spacecraft_visible_to(request.user).filter(
        organization__memberships__user=request.user, organization__memberships__role__in=OPERATING_ROLES
    )
    starting = request.method == "POST" and request.POST.get("action") == "start"
    if request.method == "POST" and not observatories.exists():
        raise PermissionDenied("observation sessions are started by operators and admins of an observatory")
    form = ObservationSessionForm(
        request.POST if request.method == "POST" else None,
        initial={"observatory": request.GET.get("observatory"), "spacecraft": request.GET.get("spacecraft")},
        observatories=observatories,
        spacecraft=spacecraft.order_by("designation"),
        devices=selectors.devices_visible_to(request.user).order_by("device_type", "device_number"),
    )
    if starting and form.is_valid():
        try:
            session = tracking.start_session(actor=request.user, **form.session_request())
            messages.success(request, f"observation session {session.pk} scheduled")
            return redirect("telescopes-session", pk=session.pk)
        except DomainError as error:  # the devices, the settings, or the spacecraft's element set
            field = SESSION_FIELD_ON_FORM.get(error.field, error.field)
            form.add_error(field if field in form.fields else None, error.message)
    return render(
        request,
        "telescopes/session_form.html",
        {"area": "telescopes", "form": form, "can_start": observatories.exists(), "starting": starting},
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
