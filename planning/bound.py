"""An upper bound on a plan's value from a relaxation the solver closes in seconds: each request
served by at most one spacecraft that has an opportunity for it (and a contact that could carry
it), each spacecraft taking no more images than its battery allows over the horizon and no more
data than all of its contacts could bring down. Every real plan satisfies these, so the
relaxation's optimum (and CP-SAT's bound on it) bounds every plan from above: a far tighter
bound than the full model's LP reaches in the time a fleet-sized plan has."""

from ortools.sat.python import cp_model

from .instance import (
    MEGABIT,
    Instance,
    can_image,
    capacity_units,
    energy_cost_units,
    energy_units,
    light_starts,
    safe_floor_units,
    segment_gain_units,
    segment_of,
    volume_units,
)


def max_images(instance: Instance, si: int) -> int:
    """The most images the battery allows: what it starts with above the floor, plus what each
    sunlit segment can add (never more than from the floor to full), less what eclipses drain."""
    sc = instance.spacecraft[si]
    cost = energy_cost_units(sc.image_cost_pct)
    if cost <= 0:
        return len(instance.opportunities)
    floor, full = safe_floor_units(sc), energy_units(100.0)
    budget = energy_units(min(100.0, sc.soc_pct)) - floor
    for start, end, sunlit in sc.light:
        gain = segment_gain_units(sc, start, end, sunlit)
        budget += min(gain, full - floor) if sunlit else gain
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


def lp_bound(instance: Instance, *, any_contact: bool = False) -> float | None:
    """The linear relaxation (GLOP) of the plan's real semantics (those `planning.validator`
    checks, not the planners' conservative rounding): each request served at most once by an
    (opportunity, contact) pair; clique cuts for one image at a time with slew, one station per
    spacecraft and one spacecraft per station; contact capacity; memory at every contact end;
    the battery over every light segment (charge capped at 100 %, never below the safe
    threshold). Every plan is a point of this polytope, so its optimum bounds every plan.
    With `any_contact` every contact before the deadline may carry an image, otherwise only
    the candidates the planners choose from (`Instance.candidates`): the bound of the model
    the planners solve. None when GLOP does not finish."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    opps, contacts, requests = instance.opportunities, instance.contacts, instance.requests
    allowed = [can_image(sc) for sc in instance.spacecraft]
    fixed = {oi for oi, _ in instance.fixed}
    candidates = instance.candidates()
    by_sc: dict[int, list[int]] = {}
    for ci in sorted(range(len(contacts)), key=lambda i: contacts[i].start_s):
        by_sc.setdefault(contacts[ci].spacecraft, []).append(ci)
    x: dict[tuple[int, int], object] = {}
    for oi, opp in enumerate(opps):
        if not (opp.taken or oi in fixed or allowed[opp.spacecraft]):
            continue
        if any_contact:
            deadline = requests[opp.request].deadline_s
            chosen = [
                ci
                for ci in by_sc.get(opp.spacecraft, [])
                if contacts[ci].start_s >= opp.end_s and contacts[ci].end_s <= deadline
            ]
        else:
            chosen = candidates[oi]
        for ci in chosen:
            x[(oi, ci)] = solver.NumVar(0.0, 1.0, "")
    by_opp: dict[int, list] = {}
    by_contact: dict[int, list] = {}
    by_request: dict[int, list] = {}
    for (oi, ci), var in x.items():
        by_opp.setdefault(oi, []).append(var)
        by_contact.setdefault(ci, []).append((oi, var))
        by_request.setdefault(opps[oi].request, []).append(var)
    for variables in by_request.values():
        solver.Add(solver.Sum(variables) <= 1)
    z = {oi: solver.Sum(variables) for oi, variables in by_opp.items()}
    load = {
        ci: solver.Sum([requests[opps[oi].request].volume_bits / MEGABIT * var for oi, var in pairs])
        for ci, pairs in by_contact.items()
    }
    used = {}
    for ci, expr in load.items():
        used[ci] = solver.NumVar(0.0, 1.0, "")
        solver.Add(expr <= contacts[ci].capacity_bits / MEGABIT * used[ci])
    groups: dict[object, list] = {}
    for ci in used:
        interval = (contacts[ci].start_s, max(contacts[ci].end_s, contacts[ci].start_s + 1), ci)
        groups.setdefault(("station", contacts[ci].station), []).append(interval)
        groups.setdefault(("spacecraft", contacts[ci].spacecraft), []).append(interval)
    for intervals in groups.values():
        for members in _cliques(intervals):
            solver.Add(solver.Sum([used[ci] for ci in members]) <= 1)
    mine: dict[int, list[int]] = {}
    for oi in z:
        mine.setdefault(opps[oi].spacecraft, []).append(oi)
    for si, own in mine.items():
        sc = instance.spacecraft[si]
        images = [oi for oi in own if not opps[oi].taken]
        intervals = [(opps[oi].start_s, opps[oi].end_s + sc.slew_s, oi) for oi in images]
        for members in _cliques(intervals):
            solver.Add(solver.Sum([z[oi] for oi in members]) <= 1)
        # Memory at every contact end: images started by then, less contacts ended before.
        ends = sorted({contacts[ci].end_s for ci in load if contacts[ci].spacecraft == si})
        own_sorted = sorted(own, key=lambda oi: opps[oi].start_s)
        gone_sorted = sorted((ci for ci in load if contacts[ci].spacecraft == si), key=lambda ci: contacts[ci].end_s)
        level, i, j = None, 0, 0
        for tau in ends:
            terms = [] if level is None else [level]
            while i < len(own_sorted) and opps[own_sorted[i]].start_s <= tau:
                terms.append(requests[opps[own_sorted[i]].request].volume_bits / MEGABIT * z[own_sorted[i]])
                i += 1
            while j < len(gone_sorted) and contacts[gone_sorted[j]].end_s < tau:
                terms.append(-1 * load[gone_sorted[j]])
                j += 1
            level = solver.NumVar(-solver.infinity(), sc.memory_bits / MEGABIT, "")
            solver.Add(level == solver.Sum(terms))
        # The battery (the validator skips a spacecraft whose images are all executing ones).
        if not allowed[si] or any(oi in fixed for oi in images) or not images:
            continue
        starts = light_starts(sc)
        per_segment: dict[int, list] = {}
        for oi in images:
            per_segment.setdefault(segment_of(starts, opps[oi].start_s), []).append(z[oi])
        level = min(100.0, sc.soc_pct)
        for k, (start, end, sunlit) in enumerate(sc.light):
            rate = sc.charge_pct_per_s if sunlit else -sc.drain_pct_per_s
            nxt = solver.NumVar(sc.safe_pct, 100.0, "")
            solver.Add(nxt <= level + rate * (end - start) - sc.image_cost_pct * solver.Sum(per_segment.get(k, [])))
            level = nxt
    solver.Maximize(solver.Sum([requests[opps[oi].request].priority * var for (oi, _), var in x.items()]))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return solver.Objective().Value()
