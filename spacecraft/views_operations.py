"""Operating a spacecraft from the browser: mode change, and a configuration edit that shows the
diff before it is saved. The same services and validation as the API; errors sit next to the field."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError

from . import services
from .config import diff_parameters, validate_parameters
from .forms import ConfigForm, ModeForm
from .views import _operable_spacecraft, render_detail


@login_required
@require_POST
def change_mode(request, pk):
    """A mode change; a refused one draws the spacecraft's page again with the reason next to the field."""
    spacecraft = _operable_spacecraft(request, pk)
    form = ModeForm(request.POST)
    if form.is_valid():
        try:
            changed = services.update_state(
                spacecraft=spacecraft,
                actor=request.user,
                mode=form.cleaned_data["mode"],
                reason=form.cleaned_data["reason"] or "commanded from the dashboard",
            )
            messages.success(request, f"{changed.designation} is now in {changed.mode} mode")
            return redirect("spacecraft:detail", pk=spacecraft.pk)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else "mode", error.message)
    spacecraft.refresh_from_db()
    return render_detail(request, spacecraft, mode_form=form)


@login_required
def edit_config(request, pk):
    """GET: the current set as JSON. POST without `confirmed`: validate and show the diff (nothing
    saved). POST with `confirmed`: save a new version (the diff is shown again if the set changed)."""
    spacecraft = _operable_spacecraft(request, pk)
    current = spacecraft.current_config
    old = current.parameters if current else {}
    diff = None
    if request.method == "POST":
        form = ConfigForm(request.POST)
        if form.is_valid():
            try:
                clean = validate_parameters(form.cleaned_data["parameters"])
                diff = diff_parameters(old, clean)
                if not (diff["added"] or diff["removed"] or diff["changed"]):
                    form.add_error("parameters", "no change from the current configuration")
                elif form.cleaned_data["confirmed"]:
                    version = services.change_config(
                        spacecraft=spacecraft, parameters=clean, actor=request.user, note=form.cleaned_data["note"]
                    )
                    messages.success(request, f"configuration v{version.version} saved")
                    return redirect("spacecraft:detail", pk=spacecraft.pk)
            except DomainError as error:
                form.add_error("parameters", f"{error.field}: {error.message}" if error.field else error.message)
                diff = None
    else:
        form = ConfigForm(initial={"parameters": json.dumps(old, indent=2, sort_keys=True)})
    return render(
        request,
        "spacecraft/config_form.html",
        {"sc": spacecraft, "form": form, "diff": diff, "current": current, "area": "fleet"},
    )
