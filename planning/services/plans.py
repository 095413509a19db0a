"""Computing and storing plans: the organization's requests, spacecraft and stations become an
instance (access windows from SGP4), CP-SAT solves it (greedy as fallback), the validator checks
it, and the plan replaces the previous one, keeping the slots already executing."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from missionops.models import Event, Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none
from orbits import services as orbit_services
from orbits.models import GroundStation, Pass
from spacecraft.catalogue import catalogue_for
from spacecraft.models import Mode, Spacecraft

from .. import access, cpsat, validator
from ..assemble import SpacecraftSpec, build_instance
from ..exceptions import RequestError
from ..instance import Contact, Instance, Opportunity, Request
from ..models import (
    PLANNABLE_STATES,
    Downlink,
    DownlinkState,
    ImagingRequest,
    ImagingSlot,
    Plan,
    RequestState,
    SlotState,
    SpacecraftResources,
)
from .execution import IMAGING_COMMAND
from .requests import set_state

DEFAULT_HORIZON = timedelta(hours=72)
MAX_HORIZON = timedelta(days=7)
DEFAULT_TIME_LIMIT_S = 20.0
# Events after an organization's newest plan that make it plan again.
TRIGGER_KINDS = ("imaging_request.pending", "tle.imported", "planning.downlink_lost", "mode.changed")


def _advisory_lock(organization_id: int) -> None:
    """One planner at a time per organization (a transaction-scoped PostgreSQL advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [20_020, organization_id])


def element_sets(spacecraft: list[Spacecraft]) -> dict:
    """Spacecraft id -> (line1, line2, epoch) of the element set to plan with: the newest one
    the orbits app holds. The one place the planner reads element sets."""
    return {pk: (tle.line1, tle.line2, tle.epoch) for pk, tle in orbit_services.current_tles(spacecraft).items()}


def max_element_age() -> timedelta:
    """The oldest element set (from its epoch) the planner predicts access from."""
    return timedelta(days=settings.PLANNING_MAX_ELEMENT_AGE_DAYS)


def _spec(sc: Spacecraft, resources: SpacecraftResources | None) -> SpacecraftSpec:
    values = SpacecraftResources.DEFAULTS if resources is None else {
        k: getattr(resources, k) for k in SpacecraftResources.DEFAULTS
    }  # fmt: skip
    free = int(values["memory_capacity_bits"] * max(0.0, 1 - sc.memory_used_pct / 100))
    return SpacecraftSpec(
        key=sc.pk,
        memory_bits=free,
        soc_pct=sc.battery_soc_pct,
        safe_pct=sc.safe_soc_threshold_pct,
        image_cost_pct=values["image_energy_pct"],
        slew_s=values["slew_settle_s"],
        imaging_s=values["imaging_s"],
        charge_pct_per_s=orbit_services.CHARGE_PCT_PER_MIN / 60,
        drain_pct_per_s=orbit_services.ECLIPSE_DRAIN_PCT_PER_MIN / 60,
        can_image=sc.mode in (Mode.NOMINAL, Mode.STANDBY) and IMAGING_COMMAND in catalogue_for(sc.mission_type),
    )


def _seconds(start: datetime, t: datetime) -> int:
    return int((t - start).total_seconds())


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=float(seconds))


@transaction.atomic
def compute_plan(
    *,
    organization: Organization,
    actor=None,
    trigger: str = "manual",
    start: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Plan the organization's open requests over [start, start + horizon] and make it the
    current plan. Guarantees: the stored plan passed the independent validator; slots already
    executing (command out, or image on board) are kept with their downlink when that contact
    still exists; requests leave `planned` when the new plan drops them, and enter it when it
    takes them; one planner runs per organization at a time."""
    if not timedelta(hours=1) <= horizon <= MAX_HORIZON:
        raise RequestError(f"horizon must be between 1 and {MAX_HORIZON.days * 24} hours", field="horizon_h")
    if not 0.1 <= time_limit_s <= 600:
        raise RequestError("time_limit_s must be between 0.1 and 600", field="time_limit_s")
    step = progress or (lambda message: None)
    began = time.perf_counter()
    _advisory_lock(organization.pk)
    start = (start or timezone.now()).replace(microsecond=0)
    end = start + horizon
    horizon_s = _seconds(start, end)

    step("reading requests, spacecraft and element sets")
    requests = list(
        ImagingRequest.objects.select_for_update()
        .filter(organization=organization, state__in=PLANNABLE_STATES, deadline__gt=start)
        .order_by("pk")
    )
    executing = list(
        ImagingSlot.objects.select_for_update(of=("self",))
        .filter(plan__organization=organization, state__in=(SlotState.COMMANDED, SlotState.IMAGED))
        .select_related("downlink")
    )
    fleet_rows = list(Spacecraft.objects.filter(organization=organization).order_by("designation"))
    tles = element_sets(fleet_rows)
    fleet_rows = [sc for sc in fleet_rows if sc.pk in tles]
    resources = {r.spacecraft_id: r for r in SpacecraftResources.objects.filter(spacecraft__in=fleet_rows)}
    stations = list(GroundStation.objects.filter(organization=organization).order_by("pk"))
    lost_passes = set(
        Downlink.objects.filter(plan__organization=organization, state=DownlinkState.LOST).values_list(
            "spacecraft_id", "station_id", "start", "end"
        )
    )

    step(f"access windows: {len(requests)} requests × {len(fleet_rows)} spacecraft over {horizon}")
    access_began = time.perf_counter()
    fleet = access.propagate_fleet(
        [tles[sc.pk][:2] for sc in fleet_rows],
        start,
        horizon_s,
        epochs=[tles[sc.pk][2] for sc in fleet_rows],
        max_age=max_element_age(),
    )
    targets = access.Sites.of(
        [
            (r.target_latitude_deg, r.target_longitude_deg, r.min_elevation_deg, r.min_sun_elevation_deg)
            for r in requests
        ]
    )
    target_windows = access.windows(fleet, targets)
    station_windows = access.windows(
        fleet, access.Sites.of([(s.latitude_deg, s.longitude_deg, s.min_elevation_deg, None) for s in stations])
    )
    access_wall_s = time.perf_counter() - access_began
    now_s = max(0, _seconds(start, timezone.now()))
    asks = [
        Request(
            r.pk,
            r.priority,
            max(0, _seconds(start, r.earliest_start)),
            min(horizon_s, _seconds(start, r.deadline)),
            r.volume_bits,
        )
        for r in requests
    ]
    specs = [_spec(sc, resources.get(sc.pk)) for sc in fleet_rows]
    instance, elevations = build_instance(
        fleet=fleet,
        horizon_s=horizon_s,
        spacecraft=specs,
        requests=asks,
        target_windows=target_windows,
        station_windows=station_windows,
        station_keys=[s.pk for s in stations],
        station_rates_bps=[s.downlink_rate_bps for s in stations],
        earliest_s=now_s,
    )
    sc_index = {sc.pk: i for i, sc in enumerate(fleet_rows)}
    instance.contacts = [c for c in instance.contacts if not _lost(c, fleet_rows, start, lost_passes)]
    kept = _keep_executing(instance, elevations, executing, start, sc_index, {r.pk: i for i, r in enumerate(requests)})

    step(f"CP-SAT: {len(instance.opportunities)} opportunities, {len(instance.contacts)} contacts, {time_limit_s:g} s")
    solution = cpsat.solve(instance, time_limit_s=time_limit_s)
    found = validator.violations(instance, solution.assignments)
    if found:  # never store a plan the validator refuses: the greedy one is checked the same way
        raise RuntimeError(f"plan refused by the validator: {found[:3]}")

    step("storing the plan")
    plan = Plan.objects.create(
        organization=organization,
        start=start,
        end=end,
        trigger=trigger[:120],
        solver=solution.solver,
        status=solution.status,
        value=solution.value,
        greedy_value=solution.greedy_value,
        bound=solution.bound,
        gap=solution.gap,
        time_limit_s=time_limit_s,
        wall_s=time.perf_counter() - began,
        stats={
            "requests": len(requests),
            "spacecraft": len(fleet_rows),
            "stations": len(stations),
            "opportunities": len(instance.opportunities),
            "contacts": len(instance.contacts),
            "access_wall_s": round(access_wall_s, 3),
            "solve_wall_s": round(solution.wall_s, 3),
            "violations": 0,
            "element_set_age_h": {
                str(sc.pk): round((start - tles[sc.pk][2]).total_seconds() / 3600, 1) for sc in fleet_rows
            },
            "eclipses": {
                str(sc.pk): [[s, e] for s, e, lit in instance.spacecraft[i].light if not lit]
                for i, sc in enumerate(fleet_rows)
            },
        },
        created_by=user_or_none(actor),
    )
    _store(plan, instance, solution.assignments, elevations, fleet_rows, stations, requests, kept, actor)
    record_event(
        organization=organization,
        kind="plan.computed",
        subject=plan,
        actor=actor,
        payload={
            "trigger": plan.trigger,
            "solver": plan.solver,
            "value": plan.value,
            "greedy_value": plan.greedy_value,
            "bound": plan.bound,
            "slots": len(solution.assignments),
        },
    )
    step(f"plan {plan.pk}: value {plan.value} (greedy {plan.greedy_value}, bound {plan.bound})")
    return plan


def _lost(contact: Contact, fleet_rows, start: datetime, lost: set) -> bool:
    """Whether the contact is a pass an operator reported lost (same spacecraft and station, overlapping)."""
    sc = fleet_rows[contact.spacecraft].pk
    a, b = _at(start, contact.start_s), _at(start, contact.end_s)
    return any(
        sc == l_sc and contact.station == l_st and a < l_end and b > l_start for l_sc, l_st, l_start, l_end in lost
    )


def _keep_executing(instance: Instance, elevations, executing, start, sc_index, request_index) -> dict:
    """Add the executing slots to the instance, fixed to their contact when it is still in the
    instance (else to the first contact that can carry them). A slot whose image is on board
    costs no energy and occupies no imaging time any more ("taken"); a commanded one still
    does. Returns opportunity index -> the slot kept."""
    kept = {}
    for slot in executing:
        if slot.spacecraft_id not in sc_index or slot.request_id not in request_index:
            continue
        oi = len(instance.opportunities)
        begin = max(0, _seconds(start, slot.start))
        end_s = max(begin, _seconds(start, slot.end))
        taken = slot.state == SlotState.IMAGED or end_s <= 0
        opportunity = Opportunity(request_index[slot.request_id], sc_index[slot.spacecraft_id], begin, end_s, taken)
        instance.opportunities.append(opportunity)
        elevations.append(slot.elevation_deg)
        kept[oi] = slot
    instance._candidates = None
    candidates = instance.candidates()
    for oi, slot in kept.items():
        downlink = slot.downlink
        chosen = None
        if downlink is not None and downlink.state == DownlinkState.PLANNED:
            for ci in candidates[oi]:
                contact = instance.contacts[ci]
                if (
                    contact.station == downlink.station_id
                    and contact.start_s <= _seconds(start, downlink.end)
                    and contact.end_s >= _seconds(start, downlink.start)
                ):
                    chosen = ci
                    break
        if chosen is None and not instance.opportunities[oi].taken and candidates[oi]:
            chosen = candidates[oi][0]  # a commanded image still happens: it needs a way down
        if chosen is not None:
            instance.fixed.append((oi, chosen))
    # Other opportunities of requests already executing are not offered again.
    executing_requests = {instance.opportunities[oi].request for oi in kept}
    keep = [i for i, o in enumerate(instance.opportunities) if i in kept or o.request not in executing_requests]
    if len(keep) != len(instance.opportunities):
        remap = {old: new for new, old in enumerate(keep)}
        instance.opportunities = [instance.opportunities[i] for i in keep]
        elevations[:] = [elevations[i] for i in keep]
        instance.fixed = [(remap[o], c) for o, c in instance.fixed]
        kept = {remap[o]: slot for o, slot in kept.items()}
    instance._candidates = None
    return kept


def _store(plan, instance, assignments, elevations, fleet_rows, stations, requests, kept, actor) -> None:
    organization = plan.organization
    # The previous plans' future work is superseded; executing slots move to this plan.
    old_slots = ImagingSlot.objects.filter(plan__organization=organization).exclude(plan=plan)
    old_slots.filter(state=SlotState.PLANNED).update(state=SlotState.SUPERSEDED)
    Downlink.objects.filter(plan__organization=organization, state=DownlinkState.PLANNED).exclude(plan=plan).update(
        state=DownlinkState.SUPERSEDED
    )
    station_by_pk = {s.pk: s for s in stations}
    downlinks: dict[int, Downlink] = {}
    loads: dict[int, int] = {}
    for oi, ci in assignments:
        loads[ci] = loads.get(ci, 0) + instance.requests[instance.opportunities[oi].request].volume_bits
    for ci in sorted(loads):
        contact: Contact = instance.contacts[ci]
        sc = fleet_rows[contact.spacecraft]
        a, b = _at(plan.start, contact.start_s), _at(plan.start, contact.end_s)
        downlinks[ci] = Downlink(
            plan=plan,
            spacecraft=sc,
            station=station_by_pk[contact.station],
            pass_ref=Pass.objects.filter(spacecraft=sc, station_id=contact.station, aos__lt=b, los__gt=a).first(),
            start=a,
            end=b,
            capacity_bits=contact.capacity_bits,
            load_bits=loads[ci],
        )
    Downlink.objects.bulk_create(downlinks.values())
    planned_requests = set()
    new_slots = []
    for oi, ci in assignments:
        opp = instance.opportunities[oi]
        request = requests[opp.request]
        planned_requests.add(request.pk)
        if oi in kept:
            slot = kept[oi]
            slot.plan, slot.downlink = plan, downlinks[ci]
            slot.save(update_fields=["plan", "downlink"])
            continue
        new_slots.append(
            ImagingSlot(
                plan=plan,
                request=request,
                spacecraft=fleet_rows[opp.spacecraft],
                downlink=downlinks[ci],
                start=_at(plan.start, opp.start_s),
                end=_at(plan.start, opp.end_s),
                elevation_deg=round(elevations[oi], 2),
            )
        )
    ImagingSlot.objects.bulk_create(new_slots)
    for slot in kept.values():
        if slot.request_id not in planned_requests:  # its contact is gone and no other carries it
            slot.plan = plan
            slot.downlink = None
            slot.save(update_fields=["plan", "downlink"])
    for request in requests:
        if request.state == RequestState.PENDING and request.pk in planned_requests:
            set_state(request=request, state=RequestState.PLANNED, actor=actor, plan=plan.pk)
        elif request.state == RequestState.PLANNED and request.pk not in planned_requests:
            set_state(
                request=request, state=RequestState.PENDING, actor=actor, plan=plan.pk, reason="not in the new plan"
            )


def triggers_since_last_plan(organization: Organization) -> list[str]:
    """Why the organization's plan is out of date: the trigger events newer than its newest plan."""
    latest = Plan.objects.filter(organization=organization).order_by("-created_at").first()
    events = Event.objects.filter(organization=organization, kind__in=TRIGGER_KINDS)
    if latest is not None:
        events = events.filter(created_at__gt=latest.created_at)
    reasons = []
    for event in events.order_by("created_at")[:50]:
        if event.kind == "mode.changed" and event.payload.get("to") not in (Mode.SAFE, Mode.SURVIVAL):
            continue
        reasons.append(event.kind if event.kind != "mode.changed" else f"mode.changed to {event.payload.get('to')}")
    return list(dict.fromkeys(reasons))


def replan_if_triggered(*, organization: Organization, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Plan | None:
    """Recompute the plan from now when a request arrived, an element set changed, a contact
    was lost or a spacecraft entered safe (or survival) since the newest plan."""
    reasons = triggers_since_last_plan(organization)
    if not reasons:
        return None
    return compute_plan(organization=organization, trigger=", ".join(reasons), time_limit_s=time_limit_s)
