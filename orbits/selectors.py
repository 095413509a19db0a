"""Reads of the orbits app, always on behalf of a user: nothing outside their organizations."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from missionops.tenancy import organizations_for
from spacecraft.selectors import spacecraft_visible_to

from .models import TLE, Conjunction, ContactPlan, GroundStation, Pass


def tles_visible_to(user) -> QuerySet[TLE]:
    return TLE.objects.filter(spacecraft__in=spacecraft_visible_to(user)).select_related("spacecraft")


def stations_visible_to(user) -> QuerySet[GroundStation]:
    return GroundStation.objects.filter(organization__in=organizations_for(user)).select_related("organization")


def passes_visible_to(user) -> QuerySet[Pass]:
    return Pass.objects.filter(spacecraft__in=spacecraft_visible_to(user)).select_related(
        "spacecraft", "station", "tle"
    )


def contact_plans_visible_to(user) -> QuerySet[ContactPlan]:
    return (
        ContactPlan.objects.filter(organization__in=organizations_for(user))
        .select_related("organization")
        .prefetch_related("contacts__spacecraft", "contacts__station")
    )


def next_pass(*, spacecraft, station: GroundStation | None = None, now: datetime | None = None) -> Pass | None:
    """The pass in progress, or else the next one to begin."""
    now = now or timezone.now()
    passes = Pass.objects.filter(spacecraft=spacecraft, los__gt=now).select_related("station", "spacecraft", "tle")
    if station is not None:
        passes = passes.filter(station=station)
    return passes.order_by("aos").first()


def next_passes_by_spacecraft(user, *, now: datetime | None = None) -> list[Pass]:
    now = now or timezone.now()
    rows = passes_visible_to(user).filter(los__gt=now).order_by("spacecraft_id", "aos").distinct("spacecraft_id")
    return sorted(rows, key=lambda p: p.aos)


def conjunctions_visible_to(user) -> QuerySet[Conjunction]:
    return Conjunction.objects.filter(spacecraft__in=spacecraft_visible_to(user)).select_related("spacecraft")
