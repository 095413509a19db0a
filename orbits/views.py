import uuid
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError
from missionops.ids import decimal_id
from missionops.paging import paginate
from missionops.tenancy import operating_organizations
from spacecraft.selectors import spacecraft_visible_to

from . import passes, predictions, selectors, services
from .forms import PickedPassesForm, PredictForm


@login_required
def orbit_map(request):
    stations = selectors.stations_visible_to(request.user)
    spacecraft = spacecraft_visible_to(request.user).filter(tles__isnull=False).distinct()
    # What orbits_map.js draws, as json_script data (escaped by Django, not by hand).
    stations_data = [
        {"id": s.pk, "name": s.name, "lat": s.latitude_deg, "lon": s.longitude_deg, "min_el": s.min_elevation_deg}
        for s in stations
    ]
    spacecraft_data = [{"id": str(sc.pk), "designation": sc.designation} for sc in spacecraft]
    context = {"area": "orbits", "stations": stations, "spacecraft": spacecraft}
    return render(
        request,
        "orbits/map.html",
        {**context, "stations_data": stations_data, "spacecraft_data": spacecraft_data},
    )


PASS_SORTS = {
    "aos": "aos",
    "los": "los",
    "spacecraft": ("spacecraft__designation", "aos"),
    "station": ("station__name", "aos"),
    "max_el": "max_elevation_deg",
}


def stored_passes_table(request, *, now):
    """The stored passes (those contact plans use) as a paged, sortable table: upcoming or past,
    one spacecraft or station (ids typed into the query string that are not the caller's are
    simply nothing)."""
    rows = selectors.passes_visible_to(request.user).select_related("spacecraft", "station")
    when = request.GET.get("when", "upcoming")
    rows = rows.filter(los__lt=now) if when == "past" else rows.filter(los__gte=now)
    spacecraft_id, station_id = request.GET.get("pass_spacecraft", ""), request.GET.get("pass_station", "")
    if spacecraft_id:
        try:
            rows = rows.filter(spacecraft_id=uuid.UUID(spacecraft_id))
        except ValueError:
            rows = rows.none()
    if station_id:
        rows = rows.filter(station_id=decimal_id(station_id)) if decimal_id(station_id) is not None else rows.none()
    default = "-aos" if when == "past" else "aos"
    return paginate(request, rows, sorts=PASS_SORTS, default=default), when


def timeline_context(request, *, pick_form=None, picked=()) -> dict:
    """What the passes page shows: next passes, the timeline (with the latest contact plan), the
    stored passes table, a prediction for a chosen window, and for operators the picking panel
    (`picked`: pass ids to show as picked again, after a refused plan)."""
    now = timezone.now()
    stations = selectors.stations_visible_to(request.user)
    form = PredictForm(
        request.GET if "spacecraft" in request.GET else None,
        spacecraft_choices=spacecraft_visible_to(request.user).filter(tles__isnull=False).distinct(),
        station_choices=stations,
        initial={
            "start": now.replace(second=0, microsecond=0),
            "end": now.replace(second=0, microsecond=0) + timedelta(days=7),
        },  # fmt: skip
    )
    prediction, error = None, ""
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        station = data["station"]
        site = (
            passes.Station(station.latitude_deg, station.longitude_deg, station.altitude_m, station.min_elevation_deg)
            if station
            else passes.Station(data["lat"], data["lon"], data["alt_m"] or 0.0, data["min_elevation_deg"] or 0.0)
        )
        try:
            prediction = predictions.predict_passes(
                spacecraft=data["spacecraft"],
                station=site,
                start=data["start"],
                end=data["end"],
                allow_stale=data["allow_stale"],
            )
        except DomainError as exc:
            error = exc.message
    table, when = stored_passes_table(request, now=now)
    operated = operating_organizations(request.user)
    if pick_form is None:
        pick_form = PickedPassesForm(organizations=operated)
    return {
        "area": "orbits",
        "now": now,
        "stations": stations,
        "next_passes": selectors.next_passes_by_spacecraft(request.user, now=now),
        "plan": selectors.contact_plans_visible_to(request.user).first(),
        "predict_form": form,
        "prediction": prediction,
        "prediction_error": error,
        "passes_table": table,
        "passes_when": when,
        "pass_filter": {
            "spacecraft": request.GET.get("pass_spacecraft", ""),
            "station": request.GET.get("pass_station", ""),
        },
        "pass_spacecraft_choices": spacecraft_visible_to(request.user).order_by("designation"),
        "can_plan": operated.exists(),
        "pick_form": pick_form,
        "picked": list(picked),
    }


def picked_passes(user, ids) -> list[dict]:
    """The picks to show again after a refused plan, named as the passes API names them; a pass no
    longer stored (or not the user's) as {"id", "missing": true}."""
    found = {p.pk: p for p in selectors.passes_visible_to(user).filter(pk__in=[pk for pk in ids if pk])}
    return [
        {
            "id": p.pk,
            "spacecraft": str(p.spacecraft_id),
            "designation": p.spacecraft.designation,
            "station": p.station_id,
            "station_name": p.station.name,
            "aos": p.aos.isoformat(),
            "los": p.los.isoformat(),
            "max_elevation_deg": p.max_elevation_deg,
        }
        if p
        else {"id": pk, "missing": True}
        for pk, p in ((pk, found.get(pk)) for pk in dict.fromkeys(ids) if pk)
    ]


@login_required
def pass_timeline(request):
    return render(request, "orbits/passes.html", timeline_context(request))


@login_required
@require_POST
def contact_plan_from_passes(request):
    """A contact plan of the passes picked on the timeline (operators and admins): on success back
    to the timeline, which draws it; refused, the page again with the error and the picks kept."""
    organizations = operating_organizations(request.user)
    if not organizations.exists():
        raise PermissionDenied("contact plans are made by operators and admins")
    form = PickedPassesForm(request.POST, organizations=organizations)
    if form.is_valid():
        try:
            plan = services.create_contact_plan_from_passes(
                organization=form.cleaned_data["organization"],
                pass_ids=form.cleaned_data["passes"],
                actor=request.user,
            )
            messages.success(
                request, f"contact plan #{plan.pk}: {plan.contacts.count()} contacts from the passes picked"
            )
            return redirect("orbits-passes")
        except DomainError as error:
            form.add_error(None, error.message)
    picked = picked_passes(request.user, [decimal_id(v) for v in request.POST.getlist("passes")[:500]])
    return render(request, "orbits/passes.html", timeline_context(request, pick_form=form, picked=picked))


@login_required
def conjunctions(request):
    now = timezone.now()
    return render(
        request,
        "orbits/conjunctions.html",
        {
            "area": "orbits",
            "now": now,
            "conjunctions": selectors.conjunctions_visible_to(request.user).filter(tca__gte=now).order_by("tca")[:500],
        },
    )
