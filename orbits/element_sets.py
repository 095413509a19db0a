"""Which element set a prediction uses, and how old it is there.

Every imported set is kept (the TLE history). For a time t the set used is the newest whose
epoch is at or before t, or, when none is, the earliest one: SGP4 is fitted to the past
observations of an object, so a set is best just after its epoch. A window is split at the
epochs of the sets inside it, each piece predicted with its own set.

Age is the distance in days from the epoch to the farthest time predicted with the set. Past
`ORBITS_ELEMENT_WARN_AGE_DAYS[_LEO]` a prediction carries a warning; past
`ORBITS_ELEMENT_MAX_AGE_DAYS[_LEO]` it is refused unless the caller asks for it anyway.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from .exceptions import ElementSetAgeError
from .models import TLE

LEO_MIN_MEAN_MOTION_REV_DAY = 11.25  # a period under 128 minutes
DEFAULT_AGE_LIMITS_DAYS = {
    # setting name -> default (days)
    "ORBITS_ELEMENT_WARN_AGE_DAYS_LEO": 14.0,
    "ORBITS_ELEMENT_MAX_AGE_DAYS_LEO": 60.0,
    "ORBITS_ELEMENT_WARN_AGE_DAYS": 30.0,
    "ORBITS_ELEMENT_MAX_AGE_DAYS": 180.0,
}


def _limit(name: str) -> float:
    return float(getattr(settings, name, DEFAULT_AGE_LIMITS_DAYS[name]))


def mean_motion_rev_day(tle: TLE) -> float:
    return float(tle.line2[52:63])


def is_leo(tle: TLE) -> bool:
    return mean_motion_rev_day(tle) > LEO_MIN_MEAN_MOTION_REV_DAY


def age_limits_days(tle: TLE) -> tuple[float, float]:
    """(warn, refuse) for this set's orbit class."""
    suffix = "_LEO" if is_leo(tle) else ""
    return _limit(f"ORBITS_ELEMENT_WARN_AGE_DAYS{suffix}"), _limit(f"ORBITS_ELEMENT_MAX_AGE_DAYS{suffix}")


@dataclass
class ElementSetUse:
    """One element set used for [start, end] of a prediction, with its age there."""

    tle: TLE
    start: datetime
    end: datetime
    age_days: float
    warn_after_days: float
    refuse_after_days: float

    @property
    def warning(self) -> str:
        if self.age_days <= self.warn_after_days:
            return ""
        return (
            f"element set epoch {self.tle.epoch.isoformat()} is {self.age_days:.1f} days from the times predicted "
            f"with it (warning after {self.warn_after_days:g} days): positions may be off by many kilometres"
        )

    @property
    def too_old(self) -> bool:
        return self.age_days > self.refuse_after_days

    def as_dict(self) -> dict:
        return {
            "id": self.tle.pk,
            "norad_id": self.tle.norad_id,
            "epoch": self.tle.epoch,
            "age_days": round(self.age_days, 3),
            "used_from": self.start,
            "used_to": self.end,
            "warning": self.warning,
        }


def use(tle: TLE, start: datetime, end: datetime) -> ElementSetUse:
    age = max(abs((start - tle.epoch).total_seconds()), abs((end - tle.epoch).total_seconds())) / 86400
    warn, refuse = age_limits_days(tle)
    return ElementSetUse(tle, start, end, age, warn, refuse)


def check_age(uses: list[ElementSetUse], *, allow_stale: bool, spacecraft) -> None:
    """Refuse a prediction that needs a set past its hard age limit, unless `allow_stale`."""
    for item in uses:
        if item.too_old and not allow_stale:
            raise ElementSetAgeError(
                f"the newest usable element set of {spacecraft.designation} (epoch {item.tle.epoch.isoformat()}) "
                f"is {item.age_days:.1f} days from the times asked for, past the limit of "
                f"{item.refuse_after_days:g} days; import a newer one, or pass allow_stale=true to predict anyway",
                field="allow_stale",
            )


def element_set_at(spacecraft, at: datetime) -> TLE | None:
    """The set of `spacecraft` used for time `at` (see the module's rule), or None."""
    sets = TLE.objects.filter(spacecraft=spacecraft)
    return sets.filter(epoch__lte=at).order_by("-epoch").first() or sets.order_by("epoch").first()


def element_sets_at(spacecraft_ids, at: datetime) -> dict:
    """Spacecraft id -> the set used for time `at`, for many spacecraft in two queries."""
    before = (
        TLE.objects.filter(spacecraft__in=spacecraft_ids, epoch__lte=at)
        .order_by("spacecraft_id", "-epoch")
        .distinct("spacecraft_id")
    )
    found = {tle.spacecraft_id: tle for tle in before}
    after = (
        TLE.objects.filter(Q(spacecraft__in=spacecraft_ids) & ~Q(spacecraft__in=list(found)))
        .order_by("spacecraft_id", "epoch")
        .distinct("spacecraft_id")
    )
    found.update({tle.spacecraft_id: tle for tle in after})
    return found


def element_sets_for_window(spacecraft, start: datetime, end: datetime) -> list[ElementSetUse]:
    """The sets covering [start, end] in time order, each with the piece it is used for."""
    first = element_set_at(spacecraft, start)
    if first is None:
        return []
    inside = list(TLE.objects.filter(spacecraft=spacecraft, epoch__gt=start, epoch__lt=end).order_by("epoch"))
    inside = [tle for tle in inside if tle.epoch > first.epoch]
    bounds = [start, *(tle.epoch for tle in inside), end]
    return [use(tle, a, b) for tle, a, b in zip([first, *inside], bounds[:-1], bounds[1:], strict=True)]
