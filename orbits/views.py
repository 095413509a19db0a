from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from missionops.exceptions import DomainError
from spacecraft.selectors import spacecraft_visible_to

from . import passes, predictions, selectors
from .forms import PredictForm


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


@login_required
def pass_timeline(request):
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
    return render(
        request,
        "orbits/passes.html",
        {
            "area": "orbits",
            "now": now,
            "stations": stations,
            "next_passes": selectors.next_passes_by_spacecraft(request.user, now=now),
            "plan": selectors.contact_plans_visible_to(request.user).first(),
            "predict_form": form,
            "prediction": prediction,
            "prediction_error": error,
        },
    )


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
