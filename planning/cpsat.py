"""The CP-SAT planner (OR-Tools): chooses imaging opportunities and the contacts that carry
their data down, maximizing the priority weight of requests completed by their deadlines under
every constraint of `planning.instance`. The best of the greedy orders is its start. A fleet of
a few spacecraft is solved whole (`planning.model`, hinted with every variable of that start);
a larger one by large-neighbourhood search (`planning.lns`: the model of a few spacecraft
re-solved while the rest of the plan stays), which never returns less than its start. The
bound reported is the LP relaxation of the real semantics over every contact
(`planning.bound.lp_bound`): a bound on every plan the validator accepts."""

import time

from ortools.sat.python import cp_model

from . import bound, greedy, lns
from .instance import Instance, Solution
from .model import build

DEFAULT_TIME_LIMIT_S = 30.0
# Up to this many spacecraft the whole model is solved at once (and usually proven optimal).
WHOLE_MODEL_SPACECRAFT = 4
# The LP's share of the time limit (GLOP, 60 % at most, never more than this many seconds): its
# guided greedy plan is worth more than the search that follows it.
LP_TIME_LIMIT_S = 40.0


def solve(
    instance: Instance, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S, workers: int = 2, seed: int = 0
) -> Solution:
    """CP-SAT plan of `instance` within `time_limit_s`, starting from the best of the greedy
    orders. When the solver has no plan at least as good as that start in its time, the start
    is returned (solver "greedy-fallback"). `greedy_value`: the earliest-deadline-first plan's
    value (the peer)."""
    began = time.perf_counter()
    plans = {order: greedy.solve(instance, order=order) for order in greedy.ORDERS}
    peer = plans["edf"]
    # The LP without its tightest rows (GLOP finds it several times faster, within a few units
    # of the full LP's optimum): the bound reported and the guide of one more greedy plan.
    upper, guide = bound.lp_solution(
        instance, any_contact=True, tight=False, time_limit_s=min(LP_TIME_LIMIT_S, max(1.0, 0.6 * time_limit_s))
    )
    if guide:  # the LP's optimum rounded by the greedy planner: often the best start
        plans["lp"] = greedy.solve(instance, guide=guide)
    start = max(plans.values(), key=lambda plan: plan.value)  # the best greedy plan, also the fallback
    if upper is None:  # every request that has an opportunity
        upper = float(sum(instance.requests[ri].priority for ri in {o.request for o in instance.opportunities}))
    left = max(0.1, time_limit_s - (time.perf_counter() - began))
    if len(instance.spacecraft) > WHOLE_MODEL_SPACECRAFT:
        result = lns.improve(instance, start.assignments, time_limit_s=left, workers=workers, seed=seed)
        value = sum(instance.requests[instance.opportunities[oi].request].priority for oi, _ in result.assignments)
        name = "cp-sat" if result.solved else "greedy-fallback"
        status = "OPTIMAL" if value >= upper - 1e-6 else "FEASIBLE"
        return Solution(result.assignments, value, name, time.perf_counter() - began, upper, status, peer.value)

    built = build(instance)
    built.hint(instance, start.assignments)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = left
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(built.model)
    status_name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = [key for key, var in built.x.items() if solver.value(var)]
        value = sum(instance.requests[instance.opportunities[oi].request].priority for oi, _ in assignments)
        if value >= start.value:
            return Solution(assignments, value, "cp-sat", time.perf_counter() - began, upper, status_name, peer.value)
    return Solution(
        start.assignments,
        start.value,
        "greedy-fallback",
        time.perf_counter() - began,
        upper,
        status_name or "UNKNOWN",
        peer.value,
    )
