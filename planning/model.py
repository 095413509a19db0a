"""The CP-SAT model of a planning instance (OR-Tools): a boolean per (imaging opportunity,
contact that carries its data down), with every constraint of `planning.instance` as the
validator reads it — one image at a time with slew, contact capacity, one station per
spacecraft and one spacecraft per station, memory at every contact end, the battery at every
energy point. `planning.cpsat` solves it whole, `planning.lns` a few spacecraft at a time."""

from dataclasses import dataclass

from ortools.sat.python import cp_model

from . import bound
from .instance import (
    Instance,
    can_image,
    capacity_units,
    energy_cost_units,
    energy_points,
    energy_units,
    safe_floor_units,
    volume_units,
)


def build(instance: Instance):
    """The model and its decision variables: x[(opportunity, contact)]."""
    model = cp_model.CpModel()
    candidates = instance.candidates()
    allowed = [can_image(sc) for sc in instance.spacecraft]
    fixed = set(instance.fixed)
    fixed_opps = {oi for oi, _ in fixed}
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_opp: dict[int, list] = {}
    by_contact: dict[int, list] = {}
    by_request: dict[int, list] = {}
    for oi, opp in enumerate(instance.opportunities):
        if not opp.taken and not allowed[opp.spacecraft] and oi not in fixed_opps:
            continue
        for ci in candidates[oi]:
            var = model.new_bool_var(f"x{oi}_{ci}")
            x[(oi, ci)] = var
            by_opp.setdefault(oi, []).append(var)
            by_contact.setdefault(ci, []).append((oi, var))
            by_request.setdefault(opp.request, []).append(var)
    for key in fixed:
        if key in x:
            model.add(x[key] == 1)
    # Served or not, per request: the objective on these (not on every choice) gives the solver
    # the sum of the reachable requests' weights as its first bound instead of a far looser one.
    served: dict[int, cp_model.IntVar] = {}
    for ri, variables in by_request.items():
        served[ri] = model.new_bool_var(f"y{ri}")
        model.add(sum(variables) == served[ri])

    # Taken or not, per opportunity; one image at a time per spacecraft with slew between.
    z: dict[int, cp_model.IntVar] = {}
    imaging: dict[int, list] = {}
    for oi, variables in by_opp.items():
        opp = instance.opportunities[oi]
        z[oi] = model.new_bool_var(f"z{oi}")
        model.add(sum(variables) == z[oi])
        if not opp.taken:
            size = opp.end_s - opp.start_s + instance.spacecraft[opp.spacecraft].slew_s
            imaging.setdefault(opp.spacecraft, []).append(
                model.new_optional_fixed_size_interval_var(opp.start_s, size, z[oi], f"img{oi}")
            )
    for intervals in imaging.values():
        model.add_no_overlap(intervals)

    # Contacts: capacity, one spacecraft per station and one station per spacecraft at a time.
    used: dict[int, cp_model.IntVar] = {}
    load: dict[int, cp_model.LinearExpr] = {}
    per_station: dict[object, list] = {}
    per_spacecraft: dict[int, list] = {}
    for ci, pairs in by_contact.items():
        contact = instance.contacts[ci]
        used[ci] = model.new_bool_var(f"u{ci}")
        load[ci] = sum(
            volume_units(instance.requests[instance.opportunities[oi].request].volume_bits) * v for oi, v in pairs
        )
        model.add(load[ci] <= capacity_units(contact.capacity_bits) * used[ci])
        for _, var in pairs:
            model.add_implication(var, used[ci])
        interval = model.new_optional_fixed_size_interval_var(
            contact.start_s, max(1, contact.end_s - contact.start_s), used[ci], f"c{ci}"
        )
        per_station.setdefault(contact.station, []).append(interval)
        per_spacecraft.setdefault(contact.spacecraft, []).append(interval)
    for intervals in [*per_station.values(), *per_spacecraft.values()]:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)

    chains: list = []
    mine_by_sc: dict[int, list[int]] = {}
    for oi in z:
        mine_by_sc.setdefault(instance.opportunities[oi].spacecraft, []).append(oi)
    for si, mine in mine_by_sc.items():
        _memory(model, instance, si, mine, z, load, chains)
        images = [oi for oi in mine if not instance.opportunities[oi].taken]
        # Executing images alone are not the planner's choice: the battery rule binds new ones.
        if allowed[si] and any(oi not in fixed_opps for oi in images):
            _energy(model, instance, si, images, z, chains)
            model.add(sum(z[oi] for oi in images) <= bound.max_images(instance, si))  # a cut the LP uses

    model.maximize(sum(instance.requests[ri].priority * var for ri, var in served.items()))
    return Model(model, x, z, used, served, chains)


@dataclass
class Model:
    model: cp_model.CpModel
    x: dict
    z: dict
    used: dict
    served: dict
    chains: list  # ("memory" | "energy", var, previous var or constant, opportunities, contacts or cost, gain, full)

    def hint(self, instance: Instance, assignments: list[tuple[int, int]]) -> None:
        """Hint every variable (not only the choices) from a feasible plan: CP-SAT then starts
        from it at once instead of searching for its completion."""
        chosen = set(assignments)
        taken = {oi for oi, _ in assignments}
        contact_load: dict[int, int] = {}
        for oi, ci in assignments:
            units = volume_units(instance.requests[instance.opportunities[oi].request].volume_bits)
            contact_load[ci] = contact_load.get(ci, 0) + units
        for key, var in self.x.items():
            self.model.add_hint(var, 1 if key in chosen else 0)
        for oi, var in self.z.items():
            self.model.add_hint(var, 1 if oi in taken else 0)
        for ci, var in self.used.items():
            self.model.add_hint(var, 1 if ci in contact_load else 0)
        done = {instance.opportunities[oi].request for oi in taken}
        for ri, var in self.served.items():
            self.model.add_hint(var, 1 if ri in done else 0)
        values: dict = {}
        for kind, var, previous, opps, extra, gain, full in self.chains:
            before = values[previous.index] if isinstance(previous, cp_model.IntVar) else previous
            if kind == "memory":
                added = sum(
                    volume_units(instance.requests[instance.opportunities[oi].request].volume_bits)
                    for oi in opps
                    if oi in taken
                )
                value = before + added - sum(contact_load.get(ci, 0) for ci in extra)
            else:
                cost = extra * sum(1 for oi in opps if oi in taken)
                value = min(before + gain - cost, full - cost)
            values[var.index] = value
            self.model.add_hint(var, value)


def _memory(model, instance: Instance, si: int, mine: list[int], z, load, chains: list) -> None:
    """On-board data at every contact end (and the horizon's end) within the free memory,
    as a running sum: images add from their start, a contact removes its load after its end."""
    sc = instance.spacecraft[si]
    contacts = sorted(
        (ci for ci in load if instance.contacts[ci].spacecraft == si), key=lambda ci: instance.contacts[ci].end_s
    )
    times = sorted({instance.contacts[ci].end_s for ci in contacts} | {instance.horizon_s})
    images = sorted(mine, key=lambda oi: instance.opportunities[oi].start_s)
    capacity = capacity_units(sc.memory_bits)
    level, i, j = 0, 0, 0
    for tau in times:
        added, removed, added_opps, removed_contacts = [], [], [], []
        while i < len(images) and instance.opportunities[images[i]].start_s <= tau:
            oi = images[i]
            added.append(volume_units(instance.requests[instance.opportunities[oi].request].volume_bits) * z[oi])
            added_opps.append(oi)
            i += 1
        while j < len(contacts) and instance.contacts[contacts[j]].end_s < tau:
            removed.append(load[contacts[j]])
            removed_contacts.append(contacts[j])
            j += 1
        if not added and not removed:
            continue
        nxt = model.new_int_var(0, capacity, f"m{si}_{tau}")
        model.add(nxt == level + sum(added) - sum(removed))
        chains.append(("memory", nxt, level, added_opps, removed_contacts, 0, 0))
        level = nxt


def _energy(model, instance: Instance, si: int, mine: list[int], z, chains: list) -> None:
    """The battery at every energy point (`planning.instance.energy_points`), as the greedy
    planner follows it: charged (up to 100 %) since the previous point, less the images
    starting there, never under the safe threshold."""
    sc = instance.spacecraft[si]
    if not mine or not sc.light:
        return
    times, gains = energy_points(sc, [instance.opportunities[oi].start_s for oi in mine])
    index = {t: p for p, t in enumerate(times)}
    at_point: dict[int, list[int]] = {}
    for oi in mine:
        at_point.setdefault(index[instance.opportunities[oi].start_s], []).append(oi)
    cost_units = energy_cost_units(sc.image_cost_pct)
    floor = safe_floor_units(sc)
    full = energy_units(100.0)
    level = energy_units(min(100.0, sc.soc_pct))
    for p, gain in enumerate(gains):
        opps = at_point.get(p, [])
        cost = cost_units * sum(z[oi] for oi in opps)
        nxt = model.new_int_var(floor, full, f"e{si}_{p}")
        model.add(nxt <= level + gain - cost)
        model.add(nxt <= full - cost)
        chains.append(("energy", nxt, level, opps, cost_units, gain, full))
        level = nxt
