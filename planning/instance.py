"""A planning problem in plain numbers, free of Django: what the greedy planner, the CP-SAT
planner and the validator all read. Times are whole seconds from the start of the horizon.

Semantics every planner and the validator share:
- a request is completed when one of its imaging opportunities is taken and its data comes
  down in one contact of the same spacecraft that starts after the image ends and ends by the
  request's deadline; its value is its priority weight;
- a spacecraft takes one image at a time, `slew_s` between the end of one and the start of the
  next; a spacecraft uses one station at a time and a station serves one spacecraft at a time;
- memory: an image occupies `volume_bits` from its start until the end of its downlink contact,
  and what is on board never exceeds the spacecraft's free memory;
- energy: the battery charges in sunlight and drains in eclipse at the spacecraft's rates, capped
  at 100 %; each image costs `image_cost_pct` at its start, and the state of charge never goes
  below the safe-mode threshold.

The planners follow the battery from point to point (`energy_points`: the light segments'
bounds and the starts of the spacecraft's imaging opportunities), charge floored and drain and
costs ceiled, so that a plan they accept is one the validator's exact simulation accepts.
"""

import bisect
import math
from dataclasses import dataclass, field

# How many of the next contacts after an image, before its deadline, may carry it down.
CONTACTS_PER_IMAGE = 4


@dataclass
class Spacecraft:
    key: object
    memory_bits: int  # free on-board memory at the start of the horizon
    soc_pct: float  # state of charge at the start
    safe_pct: float  # the safe-mode threshold the battery must stay above
    image_cost_pct: float
    slew_s: int
    charge_pct_per_s: float
    drain_pct_per_s: float
    # (start_s, end_s, sunlit) covering [0, horizon_s] in order.
    light: list[tuple[int, int, bool]] = field(default_factory=list)


@dataclass
class Request:
    key: object
    priority: int
    earliest_s: int
    deadline_s: int
    volume_bits: int


@dataclass
class Opportunity:
    request: int  # index into Instance.requests
    spacecraft: int  # index into Instance.spacecraft
    start_s: int
    end_s: int
    # Already taken (executing or on board): no energy cost, no slew, kept in any plan.
    taken: bool = False


@dataclass
class Contact:
    spacecraft: int
    station: object
    start_s: int
    end_s: int
    capacity_bits: int
    key: object = None


@dataclass
class Instance:
    horizon_s: int
    spacecraft: list[Spacecraft]
    requests: list[Request]
    opportunities: list[Opportunity]
    contacts: list[Contact]
    # (opportunity, contact) pairs that any plan must keep (slots executing).
    fixed: list[tuple[int, int]] = field(default_factory=list)
    _candidates: list[list[int]] | None = None

    def candidates(self) -> list[list[int]]:
        """Per opportunity: the contacts that may carry its image down (the next few of its
        spacecraft that start after it and end by its request's deadline)."""
        if self._candidates is None:
            by_sc: dict[int, list[int]] = {}
            for ci in sorted(range(len(self.contacts)), key=lambda i: self.contacts[i].start_s):
                by_sc.setdefault(self.contacts[ci].spacecraft, []).append(ci)
            fixed = dict(self.fixed)
            result = []
            for oi, opp in enumerate(self.opportunities):
                deadline = self.requests[opp.request].deadline_s
                chosen = [
                    ci
                    for ci in by_sc.get(opp.spacecraft, [])
                    if self.contacts[ci].start_s >= opp.end_s and self.contacts[ci].end_s <= deadline
                ][:CONTACTS_PER_IMAGE]
                if oi in fixed and fixed[oi] not in chosen:
                    chosen.append(fixed[oi])
                result.append(chosen)
            self._candidates = result
        return self._candidates


@dataclass
class Solution:
    assignments: list[tuple[int, int]]  # (opportunity, contact)
    value: int
    solver: str
    wall_s: float
    bound: float | None = None
    status: str = ""
    greedy_value: int = 0

    @property
    def gap(self) -> float | None:
        if self.bound is None or self.bound <= 0:
            return None
        return max(0.0, (self.bound - self.value) / self.bound)


# -- integer units shared by the planners (rounded so that a plan is never optimistic) --------

MEGABIT = 1_000_000
ENERGY_UNIT_PCT = 0.001


def volume_units(bits: int) -> int:
    return math.ceil(bits / MEGABIT)


def capacity_units(bits: int) -> int:
    return bits // MEGABIT


def energy_cost_units(pct: float) -> int:
    return math.ceil(pct / ENERGY_UNIT_PCT - 1e-9)


def energy_units(pct: float) -> int:
    return math.floor(pct / ENERGY_UNIT_PCT + 1e-9)


def segment_gain_units(sc: Spacecraft, start_s: int, end_s: int, sunlit: bool) -> int:
    """Battery change over one light segment: floored when charging, ceiled when draining."""
    if sunlit:
        return energy_units(sc.charge_pct_per_s * (end_s - start_s))
    return -energy_cost_units(sc.drain_pct_per_s * (end_s - start_s))


def light_starts(sc: Spacecraft) -> list[int]:
    return [start for start, _, _ in sc.light]


def segment_of(starts: list[int], t: int) -> int:
    """Index of the light segment holding time t (`starts`: light_starts of the spacecraft)."""
    return max(0, bisect.bisect_right(starts, t) - 1)


def energy_chain(sc: Spacecraft, costs: list[int]) -> list[int]:
    """State of charge (units) at the end of each light segment when segment k carries
    `costs[k]` units of imaging, charged as if paid both at its start and its end: the bound
    that holds whatever the order of charging, clipping at 100 % and imaging in the segment."""
    level = energy_units(min(100.0, sc.soc_pct))
    full = energy_units(100.0)
    out = []
    for k, (start, end, sunlit) in enumerate(sc.light):
        level = min(full, level + segment_gain_units(sc, start, end, sunlit)) - costs[k]
        out.append(level)
    return out


def energy_ok(sc: Spacecraft, costs: list[int]) -> bool:
    """Whether the imaging `costs` per segment keep the battery above the safe threshold."""
    floor = safe_floor_units(sc)
    level = energy_units(min(100.0, sc.soc_pct))
    full = energy_units(100.0)
    for k, (start, end, sunlit) in enumerate(sc.light):
        if level - costs[k] < floor:
            return False
        level = min(full, level + segment_gain_units(sc, start, end, sunlit)) - costs[k]
        if level < floor:
            return False
    return True


def safe_floor_units(sc: Spacecraft) -> int:
    return energy_cost_units(sc.safe_pct) + 1


def can_image(sc: Spacecraft) -> bool:
    """A spacecraft whose battery would fall to the safe threshold even without imaging images
    nothing (the battery rule will put it in safe mode anyway)."""
    return energy_ok(sc, [0] * len(sc.light))


def energy_points(sc: Spacecraft, image_starts) -> tuple[list[int], list[int]]:
    """The times the planners check the battery at: every light segment's start and end and
    every given imaging start, in order, with the battery change since the previous point
    (floored when charging, ceiled when draining; 0 for the first point, time 0)."""
    times, gains = [], []
    pending = sorted(set(image_starts))
    i = 0
    for start, end, sunlit in sc.light:
        inside = [start]
        while i < len(pending) and pending[i] < end:
            if pending[i] > start:
                inside.append(pending[i])
            i += 1
        for t in inside:
            if not times:
                times.append(t)
                gains.append(0)
            elif t > times[-1]:
                gains.append(segment_gain_units(sc, times[-1], t, sunlit))
                times.append(t)
        if end > times[-1]:
            gains.append(segment_gain_units(sc, times[-1], end, sunlit))
            times.append(end)
    return times, gains


def energy_levels(sc: Spacecraft, gains: list[int], counts: list[int]) -> list[int]:
    """The battery (units) just after each point of `energy_points` when `counts[p]` images
    start at point p: charged up to 100 % first, then the images' costs taken."""
    cost = energy_cost_units(sc.image_cost_pct)
    full = energy_units(100.0)
    level = energy_units(min(100.0, sc.soc_pct))
    out = []
    for gain, count in zip(gains, counts, strict=True):
        level = min(full, level + gain) - cost * count
        out.append(level)
    return out
