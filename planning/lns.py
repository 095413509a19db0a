"""Large-neighbourhood search for fleet-sized plans: the whole model of 20 spacecraft and a
thousand requests is too large for CP-SAT to improve in a minute on two cores, but the model of
two to six spacecraft, with the rest of the plan held, it solves in a second or two. Each round
frees the plan of a few spacecraft that compete for the same requests, drops the requests the
others already serve and the contacts that clash with the stations the others use, re-solves
that neighbourhood (`planning.model`, hinted with its current plan) and keeps the result when
it is worth at least as much and the validator accepts the whole plan. The plan never gets
worse than the start it was given."""

import random
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from . import validator
from .instance import Instance
from .model import build

# Seconds one neighbourhood may take, and how many spacecraft it frees at first and at most.
ROUND_LIMIT_S = 3.0
FIRST_GROUP = 3
MAX_GROUP = 6


@dataclass
class Improved:
    assignments: list[tuple[int, int]]
    solved: bool  # at least one neighbourhood was solved (its plan kept or not)
    rounds: int
    kept: int  # rounds whose plan replaced the current one


def rivals(instance: Instance) -> list[list[float]]:
    """How much two spacecraft compete: the priority of the requests both could image."""
    n = len(instance.spacecraft)
    on: dict[int, set[int]] = {}
    for opp in instance.opportunities:
        on.setdefault(opp.request, set()).add(opp.spacecraft)
    weight = [[0.0] * n for _ in range(n)]
    for ri, fleet in on.items():
        for a in fleet:
            for b in fleet:
                if a != b:
                    weight[a][b] += instance.requests[ri].priority
    return weight


def neighbourhood(
    instance: Instance, plan: list[tuple[int, int]], group: set[int]
) -> tuple[Instance, list[int], list[int], list[tuple[int, int]]]:
    """The sub-instance of `group`'s spacecraft with the rest of `plan` held: its requests not
    served by the others, its contacts free of the others' station time. Returns it with the
    original indices of its opportunities and contacts and the group's current plan in its
    own indices."""
    opps, contacts = instance.opportunities, instance.contacts
    held = [(oi, ci) for oi, ci in plan if opps[oi].spacecraft not in group]
    served = {opps[oi].request for oi, _ in held}
    busy: dict[object, list[tuple[int, int]]] = {}
    for _, ci in held:
        busy.setdefault(contacts[ci].station, []).append((contacts[ci].start_s, contacts[ci].end_s))
    opp_ids = [oi for oi, o in enumerate(opps) if o.spacecraft in group and o.request not in served]
    contact_ids = [
        ci
        for ci, c in enumerate(contacts)
        if c.spacecraft in group and not any(s < c.end_s and c.start_s < e for s, e in busy.get(c.station, []))
    ]
    opp_at = {oi: i for i, oi in enumerate(opp_ids)}
    contact_at = {ci: i for i, ci in enumerate(contact_ids)}
    sub = Instance(
        instance.horizon_s,
        instance.spacecraft,
        instance.requests,
        [opps[oi] for oi in opp_ids],
        [contacts[ci] for ci in contact_ids],
        fixed=[(opp_at[oi], contact_at[ci]) for oi, ci in instance.fixed if oi in opp_at and ci in contact_at],
    )
    current = [(opp_at[oi], contact_at[ci]) for oi, ci in plan if opps[oi].spacecraft in group]
    candidates = sub.candidates()
    for oi, ci in current:  # the current plan stays expressible whichever contacts it took
        if ci not in candidates[oi]:
            candidates[oi].append(ci)
    return sub, opp_ids, contact_ids, current


def _value(instance: Instance, plan: list[tuple[int, int]]) -> int:
    return sum(instance.requests[instance.opportunities[oi].request].priority for oi, _ in plan)


def improve(
    instance: Instance,
    start: list[tuple[int, int]],
    *,
    time_limit_s: float,
    workers: int = 2,
    seed: int = 0,
) -> Improved:
    """The best plan the search finds from `start` (a plan the validator accepts) within
    `time_limit_s`."""
    began = time.perf_counter()
    rng = random.Random(seed)
    n = len(instance.spacecraft)
    plan = list(start)
    weight = rivals(instance)
    size = min(FIRST_GROUP, n)
    order: list[int] = []
    solved = False
    rounds = kept = 0
    while True:
        left = time_limit_s - (time.perf_counter() - began)
        if left < 0.3 or n == 0:
            break
        if not order:
            order = rng.sample(range(n), n)
        first = order.pop()
        group = {first}
        while len(group) < size:
            others = [b for b in range(n) if b not in group]
            group.add(rng.choices(others, weights=[1.0 + sum(weight[a][b] for a in group) for b in others])[0])
        sub, opp_ids, contact_ids, current = neighbourhood(instance, plan, group)
        built = build(sub)
        built.hint(sub, current)
        solver = cp_model.CpSolver()
        left = time_limit_s - (time.perf_counter() - began)
        if left < 0.2:
            break
        solver.parameters.max_time_in_seconds = min(ROUND_LIMIT_S, left - 0.1)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = rng.randrange(1 << 30)
        round_began = time.perf_counter()
        status = solver.solve(built.model)
        rounds += 1
        if status == cp_model.OPTIMAL and time.perf_counter() - round_began < ROUND_LIMIT_S / 3:
            size = min(MAX_GROUP, n, size + 1)  # solved with time to spare: a larger neighbourhood
        elif status != cp_model.OPTIMAL:
            size = max(2, size - 1) if n > 1 else 1
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        solved = True
        chosen = [(opp_ids[oi], contact_ids[ci]) for (oi, ci), var in built.x.items() if solver.value(var)]
        if _value(instance, chosen) < _value(sub, current):
            continue
        candidate = [(oi, ci) for oi, ci in plan if instance.opportunities[oi].spacecraft not in group] + chosen
        if validator.violations(instance, candidate):
            continue
        plan = candidate
        kept += 1
    return Improved(plan, solved, rounds, kept)
