"""Mission planner bench: CP-SAT against the greedy earliest-deadline-first peer and the solver's
own upper bound, on a generated instance built the way the planning service builds one (SGP4
access windows for every target and station, eclipse from the same propagation), one table.

    .venv/bin/python bench/planner.py --json                 # full size: 20 sc, 10 stations, 1,000 requests, 72 h
    .venv/bin/python bench/planner.py --requests 200 --spacecraft 6 --hours 24 --time-limit 10   # quick

Every plan is checked by the independent validator (planning/validator.py); `violations` counts
what it found in both plans (must be 0).
"""

import argparse
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sgp4.api import WGS72, Satrec  # noqa: E402
from sgp4.exporter import export_tle  # noqa: E402

from planning import access, bound, cpsat, greedy, lagrange, validator  # noqa: E402
from planning.assemble import SpacecraftSpec, build_instance  # noqa: E402
from planning.instance import Request  # noqa: E402

START = datetime(2026, 12, 7, tzinfo=UTC)
STATIONS = [
    # name, latitude, longitude, minimum elevation, downlink bit/s
    ("Svalbard", 78.23, 15.41, 5, 150_000_000),
    ("Fairbanks", 64.86, -147.86, 5, 100_000_000),
    ("Wallops", 37.94, -75.47, 5, 50_000_000),
    ("Hartebeesthoek", -25.89, 27.71, 10, 50_000_000),
    ("Tokyo", 35.69, 139.69, 10, 20_000_000),
    ("Kourou", 5.25, -52.80, 5, 50_000_000),
    ("Santiago", -33.15, -70.67, 5, 50_000_000),
    ("Perth", -31.80, 115.89, 5, 50_000_000),
    ("McMurdo", -77.84, 166.67, 5, 100_000_000),
    ("Madrid", 40.43, -4.25, 5, 50_000_000),
]
# Scarce enough that the constraints bind: images of 4 to 16 Gbit against 32 to 64 Gbit of
# memory and ~10-minute passes; each image (payload on, slew, settle) costs 15 to 25 % of the battery.
VOLUMES_GBIT = [4, 8, 12, 16]
MEMORY_GBIT = [32, 48, 64]
IMAGE_COST_PCT = [15.0, 20.0, 25.0]
PRIORITIES = [1, 1, 1, 2, 2, 3, 5, 8, 13]
CHARGE_PCT_PER_S = 0.5 / 60  # orbits.services.CHARGE_PCT_PER_MIN
DRAIN_PCT_PER_S = 0.7 / 60  # orbits.services.ECLIPSE_DRAIN_PCT_PER_MIN


def imaging_fleet(n: int, rng) -> list[tuple[str, str]]:
    """Sun-synchronous-like imaging satellites at 480 to 620 km in spread planes."""
    epoch = (START.replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    lines = []
    for i in range(n):
        altitude_km = rng.uniform(480, 620)
        n_rev = 86400 / (2 * math.pi * math.sqrt((6378.137 + altitude_km) ** 3 / 398600.4418))
        sat = Satrec()
        sat.sgp4init(
            WGS72, "i", 80000 + i, epoch, 2e-5, 0.0, 0.0, 0.001,
            math.radians(rng.uniform(0, 360)), math.radians(97.5), math.radians(rng.uniform(0, 360)),
            n_rev / 720 * math.pi, math.radians(360 * i / n),
        )  # fmt: skip
        sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", "26001A", 999, 1
        lines.append(export_tle(sat))
    return lines


def generate(args, rng):
    horizon_s = int(args.hours * 3600)
    lines = imaging_fleet(args.spacecraft, rng)
    began = time.perf_counter()
    fleet = access.propagate_fleet(lines, START, horizon_s, step_s=args.step)
    targets = access.Sites.of(
        [
            (float(np.degrees(np.arcsin(rng.uniform(-0.85, 0.95)))), rng.uniform(-180, 180), 60.0, 10.0)
            for _ in range(args.requests)
        ]
    )
    target_windows = access.windows(fleet, targets)
    stations = STATIONS[: args.stations]
    station_windows = access.windows(fleet, access.Sites.of([(s[1], s[2], s[3], None) for s in stations]))
    access_wall_s = time.perf_counter() - began
    requests = []
    for i in range(args.requests):
        earliest = int(rng.uniform(0, horizon_s * 0.5))
        deadline = min(horizon_s, earliest + int(rng.uniform(8 * 3600, horizon_s)))
        requests.append(
            Request(f"R-{i + 1}", int(rng.choice(PRIORITIES)), earliest, deadline,
                    int(rng.choice(VOLUMES_GBIT)) * 10**9)
        )  # fmt: skip
    specs = [
        SpacecraftSpec(
            key=f"SC-{i + 1:02d}",
            memory_bits=int(rng.choice(MEMORY_GBIT)) * 10**9,
            soc_pct=float(rng.uniform(70, 100)),
            safe_pct=20.0,
            image_cost_pct=float(rng.choice(IMAGE_COST_PCT)),
            slew_s=int(rng.choice([45, 60, 90])),
            imaging_s=20,
            charge_pct_per_s=CHARGE_PCT_PER_S,
            drain_pct_per_s=DRAIN_PCT_PER_S,
        )
        for i in range(args.spacecraft)
    ]
    instance, _ = build_instance(
        fleet=fleet,
        horizon_s=horizon_s,
        spacecraft=specs,
        requests=requests,
        target_windows=target_windows,
        station_windows=station_windows,
        station_keys=[s[0] for s in stations],
        station_rates_bps=[s[4] for s in stations],
    )
    return instance, access_wall_s, len(target_windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacecraft", type=int, default=20)
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=72.0)
    parser.add_argument("--step", type=float, default=access.DEFAULT_STEP_S, help="access grid step, s")
    parser.add_argument("--time-limit", type=float, default=55.0, help="CP-SAT time limit, s (greedy hint included)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    parser.add_argument(
        "--lagrangian", action="store_true", help="also the Lagrangian bound (planning.lagrange; a minute or more)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    instance, access_wall_s, n_windows = generate(args, rng)
    greedy_plan = greedy.solve(instance)
    began = time.perf_counter()
    cpsat_plan = cpsat.solve(instance, time_limit_s=args.time_limit, workers=args.workers, seed=args.seed)
    wall_s = time.perf_counter() - began
    greedy_violations = validator.violations(instance, greedy_plan.assignments)
    cpsat_violations = validator.violations(instance, cpsat_plan.assignments)
    total = sum(r.priority for r in instance.requests)
    # The LP relaxation of the real semantics (planning.bound.lp_bound) over every contact that
    # could carry each image, with every row: a bound on every plan the validator accepts.
    # solve() reports the LP without its tightest rows, found within its time limit; this one is
    # solved after the plan, timed alone, without a time limit.
    lp_began = time.perf_counter()
    lp = bound.lp_bound(instance, any_contact=True)
    lp_wall_s = time.perf_counter() - lp_began
    dual, dual_wall_s = None, 0.0
    if args.lagrangian:
        dual_began = time.perf_counter()
        dual = lagrange.lagrangian_bound(instance, any_contact=True, time_limit_s=120)[1]
        dual_wall_s = time.perf_counter() - dual_began
    bounds = [b for b in (cpsat_plan.bound, lp, dual) if b is not None]
    upper = min(bounds) if bounds else None
    bound_value = upper if upper is not None else float("nan")
    gap = max(0.0, (upper - cpsat_plan.value) / upper) if upper else None

    print(
        f"instance: {args.spacecraft} spacecraft, {args.stations} stations, {args.requests} requests, "
        f"{args.hours:g} h; {n_windows} access windows, {len(instance.opportunities)} imaging opportunities, "
        f"{len(instance.contacts)} contacts; access windows in {access_wall_s:.2f} s"
    )
    print(f"{'planner':<22}{'value':>8}{'requests':>10}{'of bound':>10}{'wall s':>9}{'violations':>12}")
    rows = [
        ("greedy EDF (peer)", greedy_plan.value, len(greedy_plan.assignments), greedy_plan.wall_s, greedy_violations),
        (f"CP-SAT ({cpsat_plan.solver})", cpsat_plan.value, len(cpsat_plan.assignments), wall_s, cpsat_violations),
    ]
    for name, value, count, seconds, found in rows:
        print(f"{name:<22}{value:>8}{count:>10}{value / bound_value:>10.1%}{seconds:>9.2f}{len(found):>12}")
    solver_bound = cpsat_plan.bound if cpsat_plan.bound is not None else float("nan")
    print(f"{'bound: plan (LP)':<22}{solver_bound:>8.0f}")
    print(f"{'bound: LP (GLOP)':<22}{(lp if lp is not None else float('nan')):>8.0f}{'':>10}{'':>10}{lp_wall_s:>9.2f}")
    if args.lagrangian:
        print(
            f"{'bound: Lagrangian':<22}{(dual if dual is not None else float('nan')):>8.0f}{'':>20}{dual_wall_s:>9.2f}"
        )
    print(
        f"CP-SAT / greedy: {cpsat_plan.value / max(1, greedy_plan.value):.3f}x; gap to bound "
        f"{(gap or 0):.2%}; status {cpsat_plan.status}; all requests' weight {total}"
    )
    for line in (greedy_violations + cpsat_violations)[:10]:
        print("violation:", line)
    if args.json:
        print(
            json.dumps(
                {
                    "cpsat_value": cpsat_plan.value,
                    "greedy_value": greedy_plan.value,
                    "upper_bound": round(upper, 1) if upper is not None else None,
                    "solver_bound": cpsat_plan.bound,
                    "lp_bound": round(lp, 1) if lp is not None else None,
                    "lp_wall_s": round(lp_wall_s, 2),
                    "lagrangian_bound": round(dual, 1) if dual is not None else None,
                    "gap": round(gap, 4) if gap is not None else None,
                    "ratio_vs_greedy": round(cpsat_plan.value / max(1, greedy_plan.value), 4),
                    "violations": len(greedy_violations) + len(cpsat_violations),
                    "wall_s": round(wall_s, 2),
                    "greedy_wall_s": round(greedy_plan.wall_s, 2),
                    "access_wall_s": round(access_wall_s, 2),
                    "solver": cpsat_plan.solver,
                    "status": cpsat_plan.status,
                    "opportunities": len(instance.opportunities),
                    "contacts": len(instance.contacts),
                    "spacecraft": args.spacecraft,
                    "stations": args.stations,
                    "requests": args.requests,
                    "hours": args.hours,
                }
            )
        )


if __name__ == "__main__":
    main()
