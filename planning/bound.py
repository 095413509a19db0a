"""An upper bound on a plan's value from a relaxation the solver closes in seconds: each request
served by at most one spacecraft that has an opportunity for it (and a contact that could carry
it), each spacecraft taking no more images than its battery allows over the horizon and no more
data than all of its contacts could bring down. Every real plan satisfies these, so the
relaxation's optimum (and CP-SAT's bound on it) bounds every plan from above: a far tighter
bound than the full model's LP reaches in the time a fleet-sized plan has."""

from ortools.sat.python import cp_model

from .instance import (
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
