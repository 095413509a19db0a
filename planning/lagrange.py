"""A tighter upper bound than the LP's (`planning.bound.lp_bound`), by Lagrangian
decomposition over spacecraft: the rows that tie spacecraft together — each request served at
most once, one spacecraft per station at a time — are priced with the LP's duals (λ per
request, μ per station row), and what is left falls apart into one problem per spacecraft,
solved with its choices whole (SCIP) instead of fractional. For any prices λ, μ ≥ 0

    every plan's value ≤ Σ λ + Σ μ + Σ over spacecraft of max (priority − λ) · x − μ · used

because a plan keeps every row of every spacecraft and, served at most once and one spacecraft
per station, gains no more from the priced rows than it pays. Each spacecraft's maximum is
replaced by SCIP's bound on it when SCIP is out of time, and by its LP when SCIP fails, so the
sum stays a bound on every plan the validator accepts. With the LP's own duals the sum with
fractional spacecraft problems is the LP's optimum; whole ones only lower it."""

import time

from .bound import relaxation
from .instance import Instance

# Slack added to every spacecraft's bound against the solvers' tolerances.
TOLERANCE = 1e-6


def lagrangian_bound(
    instance: Instance, *, any_contact: bool = True, time_limit_s: float = 30.0
) -> tuple[float | None, float | None]:
    """(the LP bound, the Lagrangian bound), either None when its solver does not finish."""
    from ortools.linear_solver import pywraplp

    began = time.perf_counter()
    lp = pywraplp.Solver.CreateSolver("GLOP")
    rows = relaxation(instance, lp, any_contact=any_contact)
    requests, opps = instance.requests, instance.opportunities
    lp.Maximize(lp.Sum([requests[opps[oi].request].priority * var for (oi, _), var in rows.x.items()]))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None, None
    lp_value = lp.Objective().Value()
    # Any prices ≥ 0 give a bound; the LP's duals (whatever their sign convention) a tight one.
    price = {ri: abs(row.dual_value()) for ri, row in rows.requests.items()}
    station_price: dict[int, float] = {}
    total = sum(price.values())
    for members, row in rows.stations:
        mu = abs(row.dual_value())
        total += mu
        for ci in members:
            station_price[ci] = station_price.get(ci, 0.0) + mu
    fleet = sorted({opps[oi].spacecraft for oi, _ in rows.x})
    for position, si in enumerate(fleet):
        left = time_limit_s - (time.perf_counter() - began)
        share = max(0.5, left / (len(fleet) - position))
        value = _spacecraft_bound(instance, si, price, station_price, any_contact=any_contact, time_limit_s=share)
        if value is None:
            return lp_value, None
        total += max(0.0, value) + TOLERANCE * (1 + abs(value))
    return lp_value, total


def _spacecraft_bound(
    instance: Instance, si: int, price: dict, station_price: dict, *, any_contact: bool, time_limit_s: float
) -> float | None:
    """A bound on one spacecraft's priced problem: SCIP's (whole choices), or its LP's."""
    from ortools.linear_solver import pywraplp

    requests, opps = instance.requests, instance.opportunities
    for kind in ("SCIP", "GLOP"):
        solver = pywraplp.Solver.CreateSolver(kind)
        if solver is None:
            continue
        solver.SetTimeLimit(int(time_limit_s * 1000))
        rows = relaxation(instance, solver, any_contact=any_contact, only={si}, integer=kind == "SCIP")
        solver.Maximize(
            solver.Sum(
                [
                    (requests[opps[oi].request].priority - price.get(opps[oi].request, 0.0)) * var
                    for (oi, _), var in rows.x.items()
                ]
                + [-station_price.get(ci, 0.0) * var for ci, var in rows.used.items()]
            )
        )
        status = solver.Solve()
        if status == pywraplp.Solver.OPTIMAL:
            return solver.Objective().BestBound() if kind == "SCIP" else solver.Objective().Value()
        if status == pywraplp.Solver.FEASIBLE and kind == "SCIP":
            return solver.Objective().BestBound()
    return None
