"""The greedy planner, earliest deadline first: the fallback when CP-SAT finds nothing in its
time, and the peer the bench compares against. Requests are taken by deadline (ties: higher
priority), each placed on its earliest opportunity, over the earliest contact after it, that
keeps every constraint of `planning.instance`."""

import bisect
import time

import numpy as np

from .instance import (
    Instance,
    Solution,
    can_image,
    capacity_units,
    energy_cost_units,
    energy_levels,
    energy_points,
    energy_units,
    safe_floor_units,
    volume_units,
)


class _State:
    """What the plan so far holds: images per spacecraft, contact loads, memory at checkpoints,
    the battery at every energy point (`planning.instance.energy_points`)."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.images: dict[int, list[tuple[int, int]]] = {}  # spacecraft -> sorted (start, end + slew)
        self.load = [0] * len(instance.contacts)
        self.used = [False] * len(instance.contacts)
        starts: dict[int, list[int]] = {}
        for opp in instance.opportunities:
            starts.setdefault(opp.spacecraft, []).append(opp.start_s)
        self.points: list[dict[int, int]] = []  # spacecraft -> {time: point index}
        self.gains: list[list[int]] = []
        self.counts: list[list[int]] = []
        self.levels: list[list[int]] = []
        for si, sc in enumerate(instance.spacecraft):
            times, gains = energy_points(sc, starts.get(si, []))
            self.points.append({t: p for p, t in enumerate(times)})
            self.gains.append(gains)
            self.counts.append([0] * len(times))
            self.levels.append(energy_levels(sc, gains, self.counts[si]))
        self.imaging_allowed = [can_image(sc) for sc in instance.spacecraft]
        # Memory checkpoints per spacecraft: contact ends and the horizon's end.
        self.checkpoints: list[np.ndarray] = []
        self.memory: list[np.ndarray] = []
        for si in range(len(instance.spacecraft)):
            times = sorted({c.end_s for c in instance.contacts if c.spacecraft == si} | {instance.horizon_s})
            self.checkpoints.append(np.array(times, dtype=np.int64))
            self.memory.append(np.zeros(len(times), dtype=np.int64))
        self.memory_cap = [capacity_units(sc.memory_bits) for sc in instance.spacecraft]
        # Contacts that may not be used together: same station or same spacecraft, overlapping.
        self.clashes: list[list[int]] = [[] for _ in instance.contacts]
        order = sorted(range(len(instance.contacts)), key=lambda i: instance.contacts[i].start_s)
        for a_pos, a in enumerate(order):
            ca = instance.contacts[a]
            for b in order[a_pos + 1 :]:
                cb = instance.contacts[b]
                if cb.start_s >= ca.end_s:
                    break
                if ca.station == cb.station or ca.spacecraft == cb.spacecraft:
                    self.clashes[a].append(b)
                    self.clashes[b].append(a)

    def sc_free(self, si: int, start: int, end: int, slew: int) -> bool:
        images = self.images.get(si, [])
        i = bisect.bisect_left(images, (start, -1))
        if i > 0 and images[i - 1][1] > start:  # the previous image plus its slew runs into this one
            return False
        return not (i < len(images) and images[i][0] < end + slew)

    def contact_ok(self, ci: int, units: int) -> bool:
        if self.load[ci] + units > capacity_units(self.instance.contacts[ci].capacity_bits):
            return False
        return self.used[ci] or not any(self.used[b] for b in self.clashes[ci])

    def memory_rows(self, si: int, start: int, contact_end: int) -> slice:
        times = self.checkpoints[si]
        return slice(int(np.searchsorted(times, start, "left")), int(np.searchsorted(times, contact_end, "left")) + 1)

    def memory_ok(self, si: int, start: int, contact_end: int, units: int) -> bool:
        rows = self.memory_rows(si, start, contact_end)
        return int(self.memory[si][rows].max(initial=0)) + units <= self.memory_cap[si]

    def add(self, oi: int, ci: int) -> None:
        opp = self.instance.opportunities[oi]
        sc = self.instance.spacecraft[opp.spacecraft]
        units = volume_units(self.instance.requests[opp.request].volume_bits)
        if not opp.taken:
            bisect.insort(self.images.setdefault(opp.spacecraft, []), (opp.start_s, opp.end_s + sc.slew_s))
            p = self.points[opp.spacecraft].get(opp.start_s)
            if p is not None:
                self.counts[opp.spacecraft][p] += 1
                self.levels[opp.spacecraft] = energy_levels(sc, self.gains[opp.spacecraft], self.counts[opp.spacecraft])
        self.load[ci] += units
        self.used[ci] = True
        self.memory[opp.spacecraft][
            self.memory_rows(opp.spacecraft, opp.start_s, self.instance.contacts[ci].end_s)
        ] += units

    def fits(self, oi: int, ci: int) -> bool:
        opp = self.instance.opportunities[oi]
        sc = self.instance.spacecraft[opp.spacecraft]
        units = volume_units(self.instance.requests[opp.request].volume_bits)
        if not self.contact_ok(ci, units):
            return False
        if not self.memory_ok(opp.spacecraft, opp.start_s, self.instance.contacts[ci].end_s, units):
            return False
        if opp.taken:
            return True
        if not self.imaging_allowed[opp.spacecraft] or not self.sc_free(
            opp.spacecraft, opp.start_s, opp.end_s, sc.slew_s
        ):
            return False
        return self.energy_ok(opp.spacecraft, opp.start_s)

    def energy_ok(self, si: int, start_s: int) -> bool:
        """Whether one more image at `start_s` keeps the battery above the safe threshold at
        every point: its cost is a deficit that runs on until charging to 100 % absorbs it."""
        p = self.points[si].get(start_s)
        if p is None:  # no light segments: nothing to check
            return True
        sc = self.instance.spacecraft[si]
        levels, gains = self.levels[si], self.gains[si]
        floor, full = safe_floor_units(sc), energy_units(100.0)
        deficit = energy_cost_units(sc.image_cost_pct)
        for q in range(p, len(levels)):
            if q > p:
                before = levels[q - 1] + gains[q]  # what the old plan charged up to at q
                if before > full:
                    deficit -= before - full
                    if deficit <= 0:
                        return True
            if levels[q] - deficit < floor:
                return False
        return True


ORDERS = {
    # earliest deadline first (ties: higher priority): the peer
    "edf": lambda r: (r.deadline_s, -r.priority),
    # highest priority first (ties: earliest deadline)
    "priority": lambda r: (-r.priority, r.deadline_s),
    # most priority per bit first: what scarce memory and downlink favour
    "density": lambda r: (-r.priority / max(1, r.volume_bits), r.deadline_s),
}


def solve(instance: Instance, *, order: str = "edf", guide: dict[int, float] | None = None) -> Solution:
    """Greedy plan of `instance` (requests in `order`, by default earliest deadline first),
    keeping its fixed slots first. With `guide` (how much of each opportunity an LP optimum
    takes, `planning.bound.lp_solution`) requests go by how much of them the LP serves, then
    by priority, each trying the opportunities the LP takes most first."""
    began = time.perf_counter()
    state = _State(instance)
    candidates = instance.candidates()
    assignments: list[tuple[int, int]] = []
    done: set[int] = set()
    for oi, ci in instance.fixed:
        state.add(oi, ci)
        assignments.append((oi, ci))
        done.add(instance.opportunities[oi].request)
    by_request: dict[int, list[int]] = {}
    for oi, opp in enumerate(instance.opportunities):
        by_request.setdefault(opp.request, []).append(oi)
    rank = ORDERS[order]
    if guide is not None:
        served = {ri: round(sum(guide.get(oi, 0.0) for oi in opps), 3) for ri, opps in by_request.items()}
        order = "lp"

        def key(ri):
            return (-served[ri], -instance.requests[ri].priority, instance.requests[ri].deadline_s, ri)

        def opp_key(o):
            return (-round(guide.get(o, 0.0), 3), instance.opportunities[o].start_s)
    else:

        def key(ri):
            return (*rank(instance.requests[ri]), ri)

        def opp_key(o):
            return instance.opportunities[o].start_s

    for ri in sorted((ri for ri in by_request if ri not in done), key=key):
        placed = False
        for oi in sorted(by_request[ri], key=opp_key):
            for ci in candidates[oi]:
                if state.fits(oi, ci):
                    state.add(oi, ci)
                    assignments.append((oi, ci))
                    placed = True
                    break
            if placed:
                break
    value = sum(instance.requests[instance.opportunities[oi].request].priority for oi, _ in assignments)
    return Solution(assignments, value, f"greedy-{order}", time.perf_counter() - began, status="FEASIBLE")
