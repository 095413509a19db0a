"""Random planning instances in plain numbers (no orbits): the tests check every planner on them
with the validator. Orbits are ~95-minute light cycles, passes a few minutes long, and memory,
energy and station time scarce enough that the constraints bind."""

import random

from .instance import Contact, Instance, Opportunity, Request, Spacecraft

ORBIT_S = 5700
ECLIPSE_S = 2100


def random_instance(
    seed: int, *, spacecraft: int = 3, stations: int = 2, requests: int = 40, horizon_s: int = 24 * 3600
) -> Instance:
    rng = random.Random(seed)
    fleet = []
    for i in range(spacecraft):
        phase = rng.randrange(ORBIT_S)
        light, t = [], 0
        while t < horizon_s:
            in_orbit = (t + phase) % ORBIT_S
            sunlit = in_orbit >= ECLIPSE_S
            end = min(horizon_s, t + (ORBIT_S - in_orbit if sunlit else ECLIPSE_S - in_orbit))
            light.append((t, end, sunlit))
            t = end
        fleet.append(
            Spacecraft(
                key=f"SC-{i + 1}",
                memory_bits=rng.choice([8, 12, 20]) * 10**9,
                soc_pct=rng.uniform(60, 100),
                safe_pct=20.0,
                image_cost_pct=rng.choice([4.0, 6.0, 8.0]),
                slew_s=rng.choice([30, 60, 90]),
                charge_pct_per_s=0.5 / 60,
                drain_pct_per_s=0.7 / 60,
                light=light,
            )
        )
    contacts = []
    for si in range(spacecraft):
        t = rng.randrange(1800, 7200)
        while t < horizon_s - 600:
            duration = rng.randrange(240, 720)
            contacts.append(
                Contact(
                    si, f"GS-{rng.randrange(stations) + 1}", t, t + duration, duration * rng.choice([5, 10, 20]) * 10**6
                )
            )
            t += duration + rng.randrange(1800, 9000)
    asks, opportunities = [], []
    for ri in range(requests):
        earliest = rng.randrange(0, horizon_s // 2)
        deadline = min(horizon_s, earliest + rng.randrange(3 * 3600, horizon_s))
        asks.append(
            Request(f"R-{ri + 1}", rng.choice([1, 1, 2, 3, 5, 8]), earliest, deadline, rng.choice([1, 2, 4]) * 10**9)
        )
        for _ in range(rng.randrange(1, 5)):
            start = rng.randrange(earliest, max(earliest + 1, deadline - 60))
            opportunities.append(Opportunity(ri, rng.randrange(spacecraft), start, start + rng.choice([10, 20, 30])))
    return Instance(horizon_s, fleet, asks, opportunities, contacts)
