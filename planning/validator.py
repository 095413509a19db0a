"""An independent check of a plan against its instance: it re-derives every constraint from the
plain numbers (exact volumes in bits, the battery simulated event by event with its 100 % cap)
and shares no code with the planners. Returns the list of violations, empty when the plan holds."""

from .instance import Instance


def violations(instance: Instance, assignments: list[tuple[int, int]]) -> list[str]:
    found: list[str] = []
    opps, contacts, requests = instance.opportunities, instance.contacts, instance.requests
    seen_requests: dict[int, int] = {}
    images_by_sc: dict[int, list[int]] = {}
    contacts_used: dict[int, int] = {}  # contact -> bits
    for oi, ci in assignments:
        opp, contact = opps[oi], contacts[ci]
        request = requests[opp.request]
        if opp.request in seen_requests:
            found.append(f"request {request.key} served twice")
        seen_requests[opp.request] = oi
        if contact.spacecraft != opp.spacecraft:
            found.append(f"request {request.key}: downlinked by another spacecraft's contact")
        if contact.start_s < opp.end_s:
            found.append(f"request {request.key}: downlink starts before the image ends")
        if contact.end_s > request.deadline_s:
            found.append(f"request {request.key}: downlinked after its deadline")
        if not opp.taken and (opp.start_s < request.earliest_s or opp.end_s > request.deadline_s):
            found.append(f"request {request.key}: imaged outside its window")
        if not opp.taken:
            images_by_sc.setdefault(opp.spacecraft, []).append(oi)
        contacts_used[ci] = contacts_used.get(ci, 0) + request.volume_bits
    for oi, ci in instance.fixed:
        if (oi, ci) not in set(assignments) and not any(a == oi for a, _ in assignments):
            found.append(f"fixed slot of request {requests[opps[oi].request].key} dropped")

    # One image at a time, slew and settle between.
    for si, images in images_by_sc.items():
        slew = instance.spacecraft[si].slew_s
        ordered = sorted(images, key=lambda o: opps[o].start_s)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if opps[b].start_s < opps[a].end_s + slew:
                found.append(
                    f"spacecraft {instance.spacecraft[si].key}: images at {opps[a].start_s} and "
                    f"{opps[b].start_s} s overlap or leave no slew time"
                )

    # Contact capacity, one spacecraft per station and one station per spacecraft at a time.
    for ci, bits in contacts_used.items():
        if bits > contacts[ci].capacity_bits:
            found.append(f"contact {ci}: {bits} bits over its capacity of {contacts[ci].capacity_bits}")
    used = sorted(contacts_used, key=lambda c: contacts[c].start_s)
    for i, a in enumerate(used):
        for b in used[i + 1 :]:
            if contacts[b].start_s >= contacts[a].end_s:
                break
            if contacts[a].station == contacts[b].station:
                found.append(f"station {contacts[a].station}: contacts {a} and {b} overlap")
            if contacts[a].spacecraft == contacts[b].spacecraft:
                found.append(f"spacecraft {instance.spacecraft[contacts[a].spacecraft].key}: two stations at once")

    # Memory: data on board from the image's start to its downlink's end, both ends included.
    for si, sc in enumerate(instance.spacecraft):
        events = []
        for oi, ci in assignments:
            if opps[oi].spacecraft == si:
                bits = requests[opps[oi].request].volume_bits
                events.append((opps[oi].start_s, 0, bits))
                events.append((contacts[ci].end_s, 1, -bits))
        on_board = 0
        for _, _, delta in sorted(events):
            on_board += delta
            if on_board > sc.memory_bits:
                found.append(f"spacecraft {sc.key}: {on_board} bits on board, over {sc.memory_bits}")
                break

    # Energy: charge in sunlight, drain in eclipse, capped at 100 %; each image costs its share.
    # Checked where the plan adds images: executing (fixed) ones alone were decided before it.
    fixed_opps = {oi for oi, _ in instance.fixed}
    for si, images in images_by_sc.items():
        if all(o in fixed_opps for o in images):
            continue
        sc = instance.spacecraft[si]
        costs = sorted(opps[o].start_s for o in images)
        soc, lowest, i = min(100.0, sc.soc_pct), min(100.0, sc.soc_pct), 0
        for start, end, sunlit in sc.light:
            t = start
            while True:
                until = costs[i] if i < len(costs) and costs[i] < end else end
                if sunlit:
                    soc = min(100.0, soc + sc.charge_pct_per_s * (until - t))
                else:
                    soc -= sc.drain_pct_per_s * (until - t)
                lowest = min(lowest, soc)
                t = until
                if until == end:
                    break
                soc -= sc.image_cost_pct
                lowest = min(lowest, soc)
                i += 1
        if lowest < sc.safe_pct - 1e-9:
            found.append(f"spacecraft {sc.key}: battery down to {lowest:.3f} %, under safe {sc.safe_pct} %")
    return found


def value(instance: Instance, assignments: list[tuple[int, int]]) -> int:
    return sum(instance.requests[instance.opportunities[oi].request].priority for oi, _ in assignments)
