from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError
from missionops.paging import paginate

from . import selectors, services
from .catalogue import catalogue_for
from .forms import CommandForm, ModeForm
from .models import Command, CommandState, Mode

COMMAND_SORTS = {"id": "id", "name": "name", "state": "state", "created": "created_at", "finished": "finished_at"}


@login_required
def fleet(request):
    overview = selectors.fleet_overview(request.user)
    return render(request, "spacecraft/fleet.html", {**overview, "area": "fleet", "modes": Mode})


@login_required
def spacecraft_detail(request, pk):
    spacecraft = get_object_or_404(selectors.spacecraft_visible_to(request.user), pk=pk)
    return render_detail(request, spacecraft)


def render_detail(request, spacecraft, *, mode_form: ModeForm | None = None):
    """The spacecraft's page; `mode_form` is a refused mode change, drawn with its errors."""
    versions = spacecraft.config_versions.select_related("created_by").order_by("-version")
    table = paginate(
        request,
        spacecraft.commands.select_related("spacecraft", "created_by", "approved_by"),
        sorts=COMMAND_SORTS,
        default="-id",
        per_page=25,
    )
    commands = [
        (c, selectors.waits_for(c), selectors.release_warning(c) if c.state == CommandState.QUEUED else "")
        for c in table.rows
    ]
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
            "commands": commands,
            "table": table,
            "catalogue": catalogue_for(spacecraft.mission_type).values(),
            "command_form": CommandForm(),
            "mode_form": mode_form or ModeForm(initial={"mode": spacecraft.mode}),
            "modes": Mode,
        },
    )


def _operable_spacecraft(request, pk):
    spacecraft = get_object_or_404(selectors.spacecraft_visible_to(request.user), pk=pk)
    if not selectors.can_operate(request.user, spacecraft):
        raise PermissionDenied("you need operate_spacecraft on this spacecraft")
    return spacecraft


@login_required
@require_POST
def queue_command(request, pk):
    spacecraft = _operable_spacecraft(request, pk)
    form = CommandForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{field}: {', '.join(errs)}" for field, errs in form.errors.items()))
    else:
        try:
            command = services.create_command(spacecraft=spacecraft, actor=request.user, **form.cleaned_data)
            messages.success(request, f"{command.name} queued ({command.state})")
            warning = selectors.release_warning(command)
            if warning:
                messages.warning(request, f"{command.name}: {warning}")
        except DomainError as error:
            messages.error(request, f"{error.field}: {error.message}" if error.field else error.message)
    return redirect("spacecraft:detail", pk=spacecraft.pk)


@login_required
@require_POST
def command_action(request, command_id, verb):
    command = get_object_or_404(
        Command.objects.filter(spacecraft__in=selectors.spacecraft_visible_to(request.user)), pk=command_id
    )
    _operable_spacecraft(request, command.spacecraft_id)
    try:
        if verb == "approve":
            services.approve_command(command=command, actor=request.user)
        else:
            services.cancel_command(command=command, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(
            request, f"command {command.pk} {verb}d" if verb == "approve" else f"command {command.pk} canceled"
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("spacecraft:detail", pk=command.spacecraft_id)
