from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from spacecraft.selectors import spacecraft_visible_to

from . import selectors


@login_required
def telemetry_index(request):
    fleet = list(spacecraft_visible_to(request.user).order_by("designation"))
    if len(fleet) == 1:
        return redirect("telemetry-spacecraft", pk=fleet[0].pk)
    return render(request, "telemetry/index.html", {"fleet": fleet, "area": "telemetry"})


@login_required
def telemetry_spacecraft(request, pk):
    spacecraft = get_object_or_404(spacecraft_visible_to(request.user), pk=pk)
    parameters = selectors.parameters_of(spacecraft)
    return render(
        request,
        "telemetry/spacecraft.html",
        {
            "sc": spacecraft,
            "fleet": spacecraft_visible_to(request.user).order_by("designation"),
            "parameters": parameters,
            "area": "telemetry",
        },
    )
