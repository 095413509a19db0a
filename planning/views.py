from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from jobs.selectors import templates_visible_to
from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES, Organization

from . import selectors, services
from .forms import ImagingRequestForm


def _form(request, data=None):
    organizations = Organization.objects.filter(memberships__user=request.user, memberships__role__in=OPERATING_ROLES)
    return ImagingRequestForm(
        data, organizations=organizations, templates=templates_visible_to(request.user).order_by("name")
    )


@login_required
def request_list(request):
    form = _form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            organization = data.pop("organization")
            template = data.pop("template")
            if template.organization_id != organization.pk:
                form.add_error("template", "this template belongs to another organization")
            else:
                volume_bits = round(data.pop("volume_gbit") * 1e9)
                try:
                    created = services.create_request(
                        organization=organization,
                        actor=request.user,
                        template=template,
                        volume_bits=volume_bits,
                        **data,
                    )
                except DomainError as error:
                    field = error.field if error.field in form.fields else None
                    form.add_error(field, error.message)
                else:
                    messages.success(request, f"request {created.name!r} is pending; the planner takes it next")
                    return redirect("planning")
    requests = selectors.requests_visible_to(request.user).order_by("-created_at")[:200]
    plan = selectors.current_plan(request.user)
    # What planning.js draws, as json_script data (escaped by Django, not by hand).
    targets = [
        {
            "id": r.pk,
            "name": r.name,
            "state": r.state,
            "lat": r.target_latitude_deg,
            "lon": r.target_longitude_deg,
            "polygon": r.target.get("type") == "Polygon",
        }
        for r in requests
    ]
    tracks = sorted({str(pk) for pk in plan.slots.values_list("spacecraft_id", flat=True)}) if plan else []
    context = {"area": "planning", "form": form, "requests": requests, "plan": plan}
    return render(request, "planning/requests.html", {**context, "targets": targets, "tracks": tracks})


def _band(start, end, origin, span_s):
    left = max(0.0, (start - origin).total_seconds() / span_s * 100)
    right = min(100.0, (end - origin).total_seconds() / span_s * 100)
    return {"left": round(left, 3), "width": round(max(0.15, right - left), 3)}


@login_required
def plan_gantt(request):
    """The current plan as a Gantt chart: one lane per spacecraft (eclipse, imaging, downlink)
    and one per station (downlinks)."""
    plan = selectors.current_plan(request.user)
    lanes, stations, ticks = [], [], []
    if plan is not None:
        span_s = (plan.end - plan.start).total_seconds()
        by_sc: dict = {}
        for slot in plan.slots.all():
            lane = by_sc.setdefault(slot.spacecraft_id, {"name": slot.spacecraft.designation, "items": []})
            lane["items"].append(
                {
                    "kind": "imaging",
                    "label": slot.request.name,
                    "state": slot.state,
                    **_band(slot.start, slot.end, plan.start, span_s),
                }
            )
        by_station: dict = {}
        for downlink in plan.downlinks.all():
            lane = by_sc.setdefault(downlink.spacecraft_id, {"name": downlink.spacecraft.designation, "items": []})
            item = {
                "kind": "downlink",
                "label": f"{downlink.station.name} {downlink.load_bits / 1e9:.1f}"
                f"/{downlink.capacity_bits / 1e9:.1f} Gbit",
                "state": downlink.state,
                **_band(downlink.start, downlink.end, plan.start, span_s),
            }
            lane["items"].append(item)
            by_station.setdefault(downlink.station_id, {"name": downlink.station.name, "items": []})["items"].append(
                {**item, "label": f"{downlink.spacecraft.designation} {downlink.load_bits / 1e9:.1f} Gbit"}
            )
        for sc_id, eclipses in plan.stats.get("eclipses", {}).items():
            lane = next((v for k, v in by_sc.items() if str(k) == sc_id), None)
            if lane is None:
                continue
            for a, b in eclipses:
                lane["items"].append(
                    {
                        "kind": "eclipse",
                        "label": "",
                        "state": "",
                        "left": a / span_s * 100,
                        "width": (b - a) / span_s * 100,
                    }
                )
        lanes = sorted(by_sc.values(), key=lambda v: v["name"])
        stations = sorted(by_station.values(), key=lambda v: v["name"])
        hours = int(span_s // 3600)
        step = 6 if hours > 24 else 2
        ticks = [{"left": h * 3600 / span_s * 100, "label": f"+{h} h"} for h in range(0, hours + 1, step)]
    return render(
        request,
        "planning/plan.html",
        {"area": "planning", "plan": plan, "lanes": lanes, "stations": stations, "ticks": ticks, "now": timezone.now()},
    )
