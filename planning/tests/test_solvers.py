"""The planners on random instances, each plan checked by the independent validator."""

import pytest

from planning import cpsat, generator, greedy, validator
from planning.instance import Contact, Instance, Opportunity, Request, Spacecraft

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_plan_keeps_every_constraint_and_cpsat_is_at_least_greedy(seed):
    instance = generator.random_instance(seed, spacecraft=3, stations=2, requests=40)
    peer = greedy.solve(instance)
    plan = cpsat.solve(instance, time_limit_s=10, workers=2, seed=seed)
    assert validator.violations(instance, peer.assignments) == []
    assert validator.violations(instance, plan.assignments) == []
    assert plan.solver == "cp-sat"
    assert plan.value >= peer.value
    assert plan.greedy_value == peer.value
    assert plan.bound is not None and plan.bound >= plan.value
    assert plan.value == validator.value(instance, plan.assignments)


@pytest.mark.parametrize("seed", range(4))
def test_scarce_resources_bind_and_stay_kept(seed):
    """Tiny memory, costly images, one station: the constraints bind and still hold."""
    instance = generator.random_instance(100 + seed, spacecraft=4, stations=1, requests=60)
    for sc in instance.spacecraft:
        sc.memory_bits = 5 * 10**9
        sc.image_cost_pct = 15.0
    plan = cpsat.solve(instance, time_limit_s=10)
    assert validator.violations(instance, plan.assignments) == []
    everything = sum(r.priority for r in instance.requests)
    assert plan.value < everything  # something had to give


def _one_spacecraft(**overrides) -> Spacecraft:
    values = dict(
        key="SC",
        memory_bits=10 * 10**9,
        soc_pct=100.0,
        safe_pct=20.0,
        image_cost_pct=10.0,
        slew_s=60,
        charge_pct_per_s=0.0,
        drain_pct_per_s=0.0,
        light=[(0, 10_000, True)],
    )
    values.update(overrides)
    return Spacecraft(**values)


def _instance(spacecraft, requests, opportunities, contacts) -> Instance:
    return Instance(10_000, spacecraft, requests, opportunities, contacts)


def test_validator_finds_overlap_without_slew():
    instance = _instance(
        [_one_spacecraft()],
        [Request("a", 1, 0, 10_000, 10**9), Request("b", 1, 0, 10_000, 10**9)],
        [Opportunity(0, 0, 100, 120), Opportunity(1, 0, 150, 170)],
        [Contact(0, "GS", 1000, 1600, 100 * 10**9)],
    )
    found = validator.violations(instance, [(0, 0), (1, 0)])
    assert any("slew" in v for v in found)
    assert validator.violations(instance, [(0, 0)]) == []


def test_validator_finds_memory_energy_capacity_station_and_deadline_faults():
    sc = _one_spacecraft(memory_bits=3 * 10**9, soc_pct=35.0, image_cost_pct=10.0)
    other = _one_spacecraft(key="SC2")
    instance = _instance(
        [sc, other],
        [Request("a", 1, 0, 10_000, 2 * 10**9), Request("b", 1, 0, 1500, 2 * 10**9), Request("c", 1, 0, 10_000, 10**9)],
        [Opportunity(0, 0, 100, 120), Opportunity(1, 0, 300, 320), Opportunity(2, 1, 100, 120)],
        [Contact(0, "GS", 1000, 1600, 3 * 10**9), Contact(1, "GS", 1200, 1400, 10**9)],
    )
    found = " | ".join(validator.violations(instance, [(0, 0), (1, 0), (2, 1)]))
    assert "bits on board" in found  # 4 Gbit in 3 Gbit of memory
    assert "battery down to" in found  # 35 % - 2 × 10 % under 20 %
    assert "over its capacity" in found  # 4 Gbit through a 3 Gbit contact
    assert "after its deadline" in found  # b's contact ends at 1600 > 1500
    assert "overlap" in found  # GS serves both spacecraft at once


def test_planners_refuse_what_the_validator_refuses():
    """The same faulty situation: both planners keep the plan within every constraint."""
    sc = _one_spacecraft(memory_bits=3 * 10**9, soc_pct=35.0, image_cost_pct=10.0)
    instance = _instance(
        [sc],
        [Request("a", 1, 0, 10_000, 2 * 10**9), Request("b", 3, 0, 10_000, 2 * 10**9)],
        [Opportunity(0, 0, 100, 120), Opportunity(1, 0, 300, 320)],
        [Contact(0, "GS", 1000, 1600, 3 * 10**9)],
    )
    for plan in (greedy.solve(instance), cpsat.solve(instance, time_limit_s=5)):
        assert validator.violations(instance, plan.assignments) == []
        assert len(plan.assignments) == 1
    assert cpsat.solve(instance, time_limit_s=5).value == 3  # the higher priority one


def test_a_spacecraft_the_battery_rule_grounds_images_nothing():
    sc = _one_spacecraft(soc_pct=30.0, drain_pct_per_s=0.01, light=[(0, 10_000, False)])
    instance = _instance(
        [sc], [Request("a", 1, 0, 10_000, 10**9)], [Opportunity(0, 0, 100, 120)], [Contact(0, "GS", 1000, 1600, 10**10)]
    )
    assert greedy.solve(instance).assignments == []
    assert cpsat.solve(instance, time_limit_s=5).assignments == []


def test_fixed_slots_are_kept_by_both_planners():
    instance = generator.random_instance(7, spacecraft=2, stations=1, requests=20)
    candidates = instance.candidates()
    oi = next(i for i, c in enumerate(candidates) if c)
    instance.opportunities[oi].taken = True
    instance.fixed = [(oi, candidates[oi][0])]
    instance._candidates = None
    for plan in (greedy.solve(instance), cpsat.solve(instance, time_limit_s=5)):
        assert (oi, candidates[oi][0]) in plan.assignments
        assert validator.violations(instance, plan.assignments) == []


@pytest.mark.parametrize("seed", range(4))
def test_relaxation_bound_is_never_below_the_optimum(seed):
    from planning import bound

    instance = generator.random_instance(200 + seed, spacecraft=3, stations=2, requests=30)
    plan = cpsat.solve(instance, time_limit_s=10)
    assert plan.status == "OPTIMAL"
    assert bound.relaxation_bound(instance) >= plan.value
    for si in range(len(instance.spacecraft)):
        images = sum(1 for oi, _ in plan.assignments if instance.opportunities[oi].spacecraft == si)
        assert images <= bound.max_images(instance, si)


@pytest.mark.parametrize("seed", range(4))
def test_lp_bound_is_never_below_the_optimum(seed):
    from planning import bound

    instance = generator.random_instance(300 + seed, spacecraft=3, stations=2, requests=30)
    plan = cpsat.solve(instance, time_limit_s=10)
    assert plan.status == "OPTIMAL"
    assert validator.violations(instance, plan.assignments) == []
    candidates_only = bound.lp_bound(instance)
    assert candidates_only >= plan.value - 1e-6
    assert bound.lp_bound(instance, any_contact=True) >= candidates_only - 1e-6
    # Every request's weight is the trivial bound; the LP is never looser than it.
    assert candidates_only <= sum(r.priority for r in instance.requests) + 1e-6


def test_lp_bound_counts_nothing_without_a_downlink_after_the_image():
    from planning import bound

    instance = Instance(
        horizon_s=3600,
        spacecraft=[Spacecraft("S", 10**10, 100.0, 20.0, 5.0, 30, 0.0, 0.0, [(0, 3600, True)])],
        requests=[Request("R1", 7, 0, 3600, 10**9), Request("R2", 3, 0, 3600, 10**9)],
        opportunities=[Opportunity(0, 0, 100, 120), Opportunity(1, 0, 2000, 2020)],
        contacts=[Contact(0, "G", 1000, 1600, 10**10)],
    )
    # R2 is imaged after the only contact: it can never come down, so the bound is R1's weight.
    assert bound.lp_bound(instance) == pytest.approx(7.0)
    assert bound.lp_bound(instance, any_contact=True) == pytest.approx(7.0)


def test_the_battery_recharging_between_images_is_used_to_the_full():
    """Continuous sunlight, 30 % at the start, 10 % per image, 10 % charged between two images:
    the validator accepts all four images (the battery never goes under 20 %), and both planners
    take them (the battery is followed image by image, not per light segment)."""
    sc = _one_spacecraft(soc_pct=30.5, image_cost_pct=10.0, charge_pct_per_s=0.01)
    requests = [Request(f"r{i}", 1, 0, 10_000, 10**9) for i in range(4)]
    opportunities = [Opportunity(i, 0, 1000 * (i + 1), 1000 * (i + 1) + 20) for i in range(4)]
    instance = _instance([sc], requests, opportunities, [Contact(0, "GS", 6000, 6600, 100 * 10**9)])
    for plan in (greedy.solve(instance), cpsat.solve(instance, time_limit_s=5)):
        assert validator.violations(instance, plan.assignments) == []
        assert plan.value == 4
    # Twice the cost: an image needs the 20 % that 2,000 s of sunlight bring, so two of the four
    # (1,000 s apart) take the battery under 20 % and the most a plan holds is two.
    sc.image_cost_pct = 20.0
    assert validator.violations(instance, [(0, 0), (1, 0)]) != []
    assert validator.violations(instance, [(0, 0), (2, 0)]) == []
    for plan in (greedy.solve(instance), cpsat.solve(instance, time_limit_s=5)):
        assert validator.violations(instance, plan.assignments) == []
        assert plan.value == 2


@pytest.mark.parametrize("seed", range(3))
def test_neighbourhood_search_keeps_every_constraint_and_never_loses_value(seed):
    from planning import lns

    instance = generator.random_instance(400 + seed, spacecraft=7, stations=2, requests=120)
    start = greedy.solve(instance)
    improved = lns.improve(instance, start.assignments, time_limit_s=6, workers=2, seed=seed)
    assert improved.rounds > 0
    assert validator.violations(instance, improved.assignments) == []
    assert validator.value(instance, improved.assignments) >= start.value
    # The planner takes that path for a fleet this size, and reports a bound above its plan.
    plan = cpsat.solve(instance, time_limit_s=6, seed=seed)
    assert validator.violations(instance, plan.assignments) == []
    assert plan.value >= max(greedy.solve(instance, order=o).value for o in greedy.ORDERS)
    assert plan.bound >= plan.value


@pytest.mark.parametrize("seed", range(3))
def test_lagrangian_bound_lies_between_the_optimum_and_the_lp(seed):
    from planning import lagrange

    instance = generator.random_instance(300 + seed, spacecraft=3, stations=2, requests=30)
    plan = cpsat.solve(instance, time_limit_s=10)
    assert plan.status == "OPTIMAL"
    lp, dual = lagrange.lagrangian_bound(instance, time_limit_s=10)
    assert dual is not None and lp is not None
    assert dual >= plan.value - 1e-6
    assert dual <= lp + 1e-3
