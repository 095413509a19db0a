"""Upper bounds on a plan's value, each a bound on every plan the validator accepts:

- `lp_bound` / `lp_solution`: the linear relaxation (GLOP) of the real semantics, the bound the
  planner reports (and whose optimum guides one of its greedy plans);
- `relaxation_bound`: a coarse relaxation CP-SAT closes (each request served by at most one
  spacecraft, each spacecraft within its battery's image count and its contacts' volume);
- `max_images`: what the battery allows one spacecraft over the horizon (a cut of the model).

`planning.lagrange` tightens the LP by solving each spacecraft's part with whole choices."""

import bisect
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .instance import (
    MEGABIT,
    Instance,
    can_image,
    capacity_units,
    energy_cost_units,
    energy_units,
    safe_floor_units,
    segment_gain_units,
    volume_units,
)


def max_images(instance: Instance, si: int) -> int:
    """The most images the battery allows: what it starts with above the floor, plus all that
    sunlight can charge (a battery that images while full charges again, so the 100 % cap
    limits nothing here), less what eclipses drain, shared out at each image's cost."""
    sc = instance.spacecraft[si]
    cost = energy_cost_units(sc.image_cost_pct)
    if cost <= 0 or not sc.light:
        return len(instance.opportunities)
    budget = energy_units(min(100.0, sc.soc_pct)) - safe_floor_units(sc)
    for start, end, sunlit in sc.light:
        budget += segment_gain_units(sc, start, end, sunlit)
    return max(0, budget // cost)


def relaxation_bound(instance: Instance, *, time_limit_s: float = 5.0, workers: int = 2) -> float | None:
    """The bound, or None when the relaxation could not be bounded in time."""
    candidates = instance.candidates()
    allowed = [can_image(sc) for sc in instance.spacecraft]
    fixed = {oi for oi, _ in instance.fixed}
    pairs: dict[tuple[int, int], bool] = {}  # (request, spacecraft) -> whether it is already taken
    for oi, opp in enumerate(instance.opportunities):
        if not candidates[oi]:
            continue
        if opp.taken or oi in fixed or allowed[opp.spacecraft]:
            key = (opp.request, opp.spacecraft)
            pairs[key] = pairs.get(key, False) or opp.taken
    model = cp_model.CpModel()
    a = {key: model.new_bool_var(f"a{key[0]}_{key[1]}") for key in pairs}
    by_request: dict[int, list] = {}
    by_sc: dict[int, list] = {}
    for (ri, si), var in a.items():
        by_request.setdefault(ri, []).append(var)
        by_sc.setdefault(si, []).append((ri, var, pairs[(ri, si)]))
    for variables in by_request.values():
        model.add_at_most_one(variables)
    for si, items in by_sc.items():
        if allowed[si]:
            model.add(sum(var for _, var, taken in items if not taken) <= max_images(instance, si))
        capacity = sum(capacity_units(c.capacity_bits) for c in instance.contacts if c.spacecraft == si)
        model.add(sum(volume_units(instance.requests[ri].volume_bits) * var for ri, var, _ in items) <= capacity)
    model.maximize(sum(instance.requests[ri].priority * var for (ri, _), var in a.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver.best_objective_bound


def _cliques(intervals: list[tuple[int, int, object]]) -> list[list[object]]:
    """The maximal sets of half-open intervals [start, end) that share a point: every pair of
    them overlaps, so at most one can be used (the clique cuts of a no-overlap constraint)."""
    ordered = sorted(intervals, key=lambda item: item[0])
    cliques, previous = [], None
    for start, _, _ in ordered:
        members = [key for s, e, key in ordered if s <= start < e]
        if len(members) > 1 and members != previous:
            cliques.append(members)
        previous = members
    return cliques


def lp_bound(instance: Instance, *, any_contact: bool = False, time_limit_s: float | None = None) -> float | None:
    """The linear relaxation (GLOP) of the plan's real semantics (those `planning.validator`
    checks, not the planners' conservative rounding): each request served at most once by an
    (opportunity, contact) pair; clique cuts for one image at a time with slew, one station per
    spacecraft and one spacecraft per station; contact capacity, and a contact counted used
    as soon as it carries an image; memory at every contact end; the battery at every image
    start and light segment bound (charge capped at 100 %, never below the safe threshold).
    Every plan is a point of this polytope, so its optimum bounds every plan.
    With `any_contact` every contact before the deadline may carry an image, otherwise only
    the candidates the planners choose from (`Instance.candidates`): the bound of the model
    the planners solve. None when GLOP does not finish (in `time_limit_s`, when given)."""
    return lp_solution(instance, any_contact=any_contact, time_limit_s=time_limit_s)[0]


def lp_solution(
    instance: Instance, *, any_contact: bool = False, time_limit_s: float | None = None, tight: bool = True
) -> tuple[float | None, dict[int, float]]:
    """`lp_bound` and, per opportunity, how much of it the LP's optimum takes (a guide for
    the greedy planner); (None, {}) when GLOP does not finish."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    if time_limit_s is not None:
        solver.SetTimeLimit(int(time_limit_s * 1000))
    rows = relaxation(instance, solver, any_contact=any_contact, tight=tight)
    requests, opps = instance.requests, instance.opportunities
    solver.Maximize(solver.Sum([requests[opps[oi].request].priority * var for (oi, _), var in rows.x.items()]))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None, {}
    taken: dict[int, float] = {}
    for (oi, _), var in rows.x.items():
        taken[oi] = taken.get(oi, 0.0) + var.solution_value()
    return solver.Objective().Value(), taken


@dataclass
class Rows:
    """The relaxation's variables and the rows that tie spacecraft together."""

    x: dict  # (opportunity, contact) -> variable
    used: dict  # contact -> variable
    requests: dict  # request -> its "served at most once" row
    stations: list  # (contacts, row): one spacecraft per station at a time


def relaxation(
    instance: Instance,
    solver,
    *,
    any_contact: bool,
    only: set[int] | None = None,
    integer: bool = False,
    tight: bool = True,
):
    """The rows of `lp_bound` in `solver` (a pywraplp solver), for the spacecraft in `only`
    (all when None), the choices integer when `integer`. No objective. Without `tight`, the
    rows that count a contact used as soon as it carries an image are left out: a looser bound
    that GLOP finds several times faster."""
    opps, contacts, requests = instance.opportunities, instance.contacts, instance.requests
    allowed = [can_image(sc) for sc in instance.spacecraft]
    fixed = {oi for oi, _ in instance.fixed}
    candidates = instance.candidates()
    by_sc: dict[int, list[int]] = {}
    for ci in sorted(range(len(contacts)), key=lambda i: contacts[i].start_s):
        by_sc.setdefault(contacts[ci].spacecraft, []).append(ci)
    starts = {si: [contacts[ci].start_s for ci in mine] for si, mine in by_sc.items()}
    var = (lambda: solver.IntVar(0.0, 1.0, "")) if integer else (lambda: solver.NumVar(0.0, 1.0, ""))
    x: dict[tuple[int, int | None], object] = {}
    later: dict[int, tuple[int, int]] = {}  # opportunity -> (earliest start, earliest end) of its later contacts
    for oi, opp in enumerate(opps):
        if not (opp.taken or oi in fixed or allowed[opp.spacecraft]):
            continue
        if only is not None and opp.spacecraft not in only:
            continue
        for ci in candidates[oi]:
            x[(oi, ci)] = var()
        if any_contact:
            # Every other contact that could carry it, as one choice (contact None): it holds
            # memory at least until the earliest of them ends, and its volume counts against the
            # capacity of the contacts that start after the earliest of them starts.
            deadline, mine = requests[opp.request].deadline_s, by_sc.get(opp.spacecraft, [])
            rest = [
                contacts[ci]
                for ci in mine[bisect.bisect_left(starts[opp.spacecraft], opp.end_s) :]
                if contacts[ci].end_s <= deadline and ci not in candidates[oi]
            ]
            if rest:
                x[(oi, None)] = var()
                later[oi] = (min(c.start_s for c in rest), min(c.end_s for c in rest))
    by_opp: dict[int, list] = {}
    by_contact: dict[int, list] = {}
    by_request: dict[int, list] = {}
    for (oi, ci), v in x.items():
        by_opp.setdefault(oi, []).append(v)
        if ci is not None:
            by_contact.setdefault(ci, []).append((oi, v))
        by_request.setdefault(opps[oi].request, []).append(v)
    request_rows = {ri: solver.Add(solver.Sum(variables) <= 1) for ri, variables in by_request.items()}
    z = {oi: solver.Sum(variables) for oi, variables in by_opp.items()}
    volume = {oi: requests[opps[oi].request].volume_bits / MEGABIT for oi in by_opp}
    load = {ci: solver.Sum([volume[oi] * v for oi, v in pairs]) for ci, pairs in by_contact.items()}
    used = {}
    for ci, expr in load.items():
        used[ci] = var()
        solver.Add(expr <= contacts[ci].capacity_bits / MEGABIT * used[ci])
        # A contact carrying any image is used: without this the LP uses a contact only by the
        # share of its capacity it fills, and station time is almost free.
        for _, v in by_contact[ci] if tight else ():
            solver.Add(v <= used[ci])
    if later:
        _later_capacity(instance, solver, x, used, by_sc, volume, later, var)
    groups: dict[object, list] = {}
    for ci in used:
        interval = (contacts[ci].start_s, max(contacts[ci].end_s, contacts[ci].start_s + 1), ci)
        groups.setdefault(("station", contacts[ci].station), []).append(interval)
        groups.setdefault(("spacecraft", contacts[ci].spacecraft), []).append(interval)
    station_rows = []
    for (kind, _), intervals in groups.items():
        for members in _cliques(intervals):
            row = solver.Add(solver.Sum([used[ci] for ci in members]) <= 1)
            if kind == "station":
                station_rows.append((members, row))
    mine: dict[int, list[int]] = {}
    for oi in z:
        mine.setdefault(opps[oi].spacecraft, []).append(oi)
    for si, own in mine.items():
        sc = instance.spacecraft[si]
        images = [oi for oi in own if not opps[oi].taken]
        intervals = [(opps[oi].start_s, opps[oi].end_s + sc.slew_s, oi) for oi in images]
        for members in _cliques(intervals):
            solver.Add(solver.Sum([z[oi] for oi in members]) <= 1)
        # Memory at every contact end: images started by then, less contacts ended before (an
        # image going down later, less at the end of the earliest contact that could take it).
        ends = sorted({contacts[ci].end_s for ci in load if contacts[ci].spacecraft == si})
        own_sorted = sorted(own, key=lambda oi: opps[oi].start_s)
        gone = sorted(
            [(contacts[ci].end_s, load[ci]) for ci in load if contacts[ci].spacecraft == si]
            + [(later[oi][1], volume[oi] * x[(oi, None)]) for oi in own if oi in later],
            key=lambda item: item[0],
        )
        level, i, j = None, 0, 0
        for tau in ends:
            terms = [] if level is None else [level]
            while i < len(own_sorted) and opps[own_sorted[i]].start_s <= tau:
                terms.append(volume[own_sorted[i]] * z[own_sorted[i]])
                i += 1
            while j < len(gone) and gone[j][0] < tau:
                terms.append(-1 * gone[j][1])
                j += 1
            level = solver.NumVar(-solver.infinity(), sc.memory_bits / MEGABIT, "")
            solver.Add(level == solver.Sum(terms))
        # The battery (the validator skips a spacecraft whose images are all executing ones).
        if not allowed[si] or any(oi in fixed for oi in images) or not images or not sc.light:
            continue
        # At every image start (and light segment bound): charged since the previous point up
        # to 100 %, less the images starting there, never under the threshold. Exact for whole
        # images, so its relaxation bounds every plan.
        times = sorted({start for start, _, _ in sc.light} | {sc.light[-1][1]} | {opps[oi].start_s for oi in images})
        at_point: dict[int, list] = {}
        for oi in images:
            at_point.setdefault(opps[oi].start_s, []).append(z[oi])
        level, k = min(100.0, sc.soc_pct), 0
        for p, t in enumerate(times):
            while k + 1 < len(sc.light) and sc.light[k][1] <= (times[p - 1] if p else 0):
                k += 1
            sunlit = sc.light[k][2]
            rate = sc.charge_pct_per_s if sunlit else -sc.drain_pct_per_s
            gain = rate * (t - times[p - 1]) if p else 0.0
            cost = sc.image_cost_pct * solver.Sum(at_point.get(t, []))
            nxt = solver.NumVar(sc.safe_pct, 100.0, "")
            solver.Add(nxt <= level + gain - cost)
            solver.Add(nxt <= 100.0 - cost)
            level = nxt
    return Rows(x, used, request_rows, station_rows)


def _later_capacity(instance: Instance, solver, x, used, by_sc, volume, later, var) -> None:
    """What goes down in contacts starting at or after any time fits in their capacity: for the
    later choices (contact None) the only capacity rows. Every contact of their spacecraft gets a
    used variable (and so its station's rows)."""
    contacts = instance.contacts
    items: dict[int, list] = {}
    for (oi, ci), v in x.items():
        start = later[oi][0] if ci is None else contacts[ci].start_s
        items.setdefault(instance.opportunities[oi].spacecraft, []).append((start, volume[oi] * v))
    for si, pending in items.items():
        for ci in by_sc.get(si, []):
            if ci not in used:
                used[ci] = var()
        pending.sort(key=lambda item: item[0], reverse=True)
        slack, k = None, 0
        for ci in reversed(by_sc.get(si, [])):  # latest start first
            terms = [contacts[ci].capacity_bits / MEGABIT * used[ci]] + ([slack] if slack is not None else [])
            while k < len(pending) and pending[k][0] >= contacts[ci].start_s:
                terms.append(-1 * pending[k][1])
                k += 1
            slack = solver.NumVar(0.0, solver.infinity(), "")
            solver.Add(slack == solver.Sum(terms))
