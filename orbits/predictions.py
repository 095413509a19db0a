"""Passes on demand: any window up to 31 days from 1957 on, over a station or an ad-hoc site,
computed from the element-set history and not stored. Reads only."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from missionops.exceptions import DomainError

from . import element_sets, passes
from . import propagation as prop
from .exceptions import NoElementsError

MAX_WINDOW = timedelta(days=31)
EARLIEST = datetime(1957, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class PredictedPass:
    aos: datetime
    tca: datetime
    los: datetime
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    continuous: bool
    cut_at_start: bool
    cut_at_end: bool
    sgp4_end: bool
    element_set: int  # TLE id used at AOS

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


@dataclass
class PassPrediction:
    start: datetime
    end: datetime
    element_sets: list[element_sets.ElementSetUse]
    passes: list[PredictedPass] = field(default_factory=list)
    # TLE id -> {"error", "code", "last_valid"}: where SGP4 stopped with that set.
    sgp4_errors: dict = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return [use.warning for use in self.element_sets if use.warning]


def check_window(start: datetime, end: datetime, *, max_window: timedelta = MAX_WINDOW) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise DomainError("give times with an offset (e.g. 2024-03-20T06:00:00Z)", field="start")
    if not EARLIEST <= start < LATEST:
        raise DomainError(f"start must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}", field="start")
    if end <= start:
        raise DomainError("end must be after start", field="end")
    if end - start > max_window:
        raise DomainError(f"a window spans at most {max_window.days} days", field="end")


def predict_passes(
    *, spacecraft, station: passes.Station, start: datetime, end: datetime, allow_stale: bool = False
) -> PassPrediction:
    """Every pass of `spacecraft` over `station` overlapping [start, end], each piece of the
    window predicted with the element set the nearest-epoch rule picks for it. A pass in
    progress at the window's start or end is cut there and marked; one crossing from one set's
    piece to the next is joined. Refused (ElementSetAgeError) when a set is past its hard age
    limit and `allow_stale` is false; NoElementsError when the spacecraft has no set."""
    check_window(start, end)
    uses = element_sets.element_sets_for_window(spacecraft, start, end)
    if not uses:
        raise NoElementsError(f"{spacecraft.designation} has no element set: import one first", field="spacecraft")
    element_sets.check_age(uses, allow_stale=allow_stale, spacecraft=spacecraft)
    result = PassPrediction(start, end, uses)
    for use in uses:
        satrec = prop.satrec_from_lines(use.tle.line1, use.tle.line2)
        piece = passes.prediction([satrec], [station], use.start, use.end, cut_at_window=True)
        failure = piece.failures.get(0)
        if failure is not None:
            result.sgp4_errors[use.tle.pk] = {
                "error": failure.error,
                "code": failure.code,
                "last_valid": failure.last_valid,
            }
        for w in piece.windows:
            found = PredictedPass(
                w.aos, w.tca, w.los, w.max_elevation_deg, w.aos_azimuth_deg, w.los_azimuth_deg,
                w.continuous, w.cut_at_start, w.cut_at_end, w.sgp4_end, use.tle.pk,
            )  # fmt: skip
            previous = result.passes[-1] if result.passes else None
            if previous and previous.cut_at_end and found.cut_at_start and previous.los == found.aos:
                _join(previous, found)
            else:
                result.passes.append(found)
    return result


def _join(first: PredictedPass, second: PredictedPass) -> None:
    """One pass from its two pieces either side of an element-set change."""
    if second.max_elevation_deg > first.max_elevation_deg:
        first.tca, first.max_elevation_deg = second.tca, second.max_elevation_deg
    first.los, first.los_azimuth_deg = second.los, second.los_azimuth_deg
    first.cut_at_end, first.sgp4_end = second.cut_at_end, second.sgp4_end
    first.continuous = first.continuous or second.continuous
