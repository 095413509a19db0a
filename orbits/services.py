"""Orbit operations: TLE import, ground stations, pass computation, fleet propagation, events."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from missionops import live
from missionops.exceptions import ConflictError, DomainError
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none
from spacecraft import services as spacecraft_services
from spacecraft.models import MissionType, Spacecraft

from . import element_sets, tle_format
from . import passes as pass_math
from . import propagation as prop
from .models import TLE, Contact, ElementFormat, GroundStation, Pass

PASS_HORIZON = timedelta(hours=48)
STATION_FIELDS = ("name", "latitude_deg", "longitude_deg", "altitude_m", "min_elevation_deg", "downlink_rate_bps")
# Energy model fed by the eclipse flag: %/minute of battery gained in sunlight, lost in shadow.
CHARGE_PCT_PER_MIN = 0.5
ECLIPSE_DRAIN_PCT_PER_MIN = 0.7


# -- TLEs -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    created_spacecraft: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "created_spacecraft": self.created_spacecraft,
        }


def _guess_mission_type(mean_motion_rev_day: float) -> str:
    if 0.9 < mean_motion_rev_day < 1.1:
        return MissionType.GEO_COMMS
    if 1.5 < mean_motion_rev_day < 2.5:
        return MissionType.GNSS
    return MissionType.LEO_IMAGING


def _refusal(element_set, reason: str) -> dict:
    return {"location": element_set.location, "norad_id": element_set.norad_id, "reason": reason}


@transaction.atomic
def import_tles(
    *, organization: Organization, text: str, source: str = "api", actor=None, create_missing: bool = False
) -> ImportReport:
    """Import every element set of `text` (2-/3-line TLE or OMM JSON) for the organization's
    spacecraft, matched by NORAD id. Each set is judged alone: a bad one is refused with its line
    and column (or record and field) and the others still go in. An epoch already stored is
    reported unchanged. Passes of every spacecraft whose current TLE changed are recomputed.
    With `create_missing`, a set whose spacecraft cannot be registered (its designation
    NORAD-<id> is taken) is refused alone."""
    lock_passes(organization_id=organization.pk)
    parsed = tle_format.parse(text)
    report = ImportReport(refused=[r.as_dict() for r in parsed.refused])
    by_norad = {sc.norad_id: sc for sc in Spacecraft.objects.filter(organization=organization, norad_id__isnull=False)}
    changed: set = set()
    for element_set in parsed.element_sets:
        spacecraft = by_norad.get(element_set.norad_id)
        if spacecraft is None and create_missing:
            try:
                # A savepoint: a refused registration must not undo the sets already imported.
                with transaction.atomic():
                    spacecraft = spacecraft_services.create_spacecraft(
                        organization=organization,
                        actor=actor,
                        designation=f"NORAD-{element_set.norad_id}",
                        name=element_set.object_name or f"NORAD {element_set.norad_id}",
                        norad_id=element_set.norad_id,
                        mission_type=_guess_mission_type(element_set.satrec.no_kozai * 720 / np.pi),
                    )
            except DomainError as exc:
                reason = f"cannot register a spacecraft for NORAD id {element_set.norad_id}: {exc.message}"
                report.refused.append(_refusal(element_set, reason))
                continue
            by_norad[element_set.norad_id] = spacecraft
            report.created_spacecraft.append(spacecraft.designation)
        if spacecraft is None:
            reason = f"no spacecraft with NORAD id {element_set.norad_id} in {organization.slug}"
            report.refused.append(_refusal(element_set, reason))
            continue
        entry = {
            "location": element_set.location,
            "norad_id": element_set.norad_id,
            "spacecraft": str(spacecraft.pk),
            "epoch": element_set.epoch.isoformat(),
        }
        if TLE.objects.filter(spacecraft=spacecraft, epoch=element_set.epoch).exists():
            report.unchanged.append({**entry, "reason": "this epoch is already stored"})
            continue
        current = current_tle(spacecraft)
        tle = TLE.objects.create(
            spacecraft=spacecraft,
            norad_id=element_set.norad_id,
            object_name=element_set.object_name,
            epoch=element_set.epoch,
            line1=element_set.line1,
            line2=element_set.line2,
            format=ElementFormat(element_set.format),
            source=source[:300],
            imported_by=user_or_none(actor),
        )
        report.imported.append({**entry, "id": tle.pk})
        if current is None or tle.epoch > current.epoch:
            changed.add(spacecraft.pk)
    if report.imported:
        record_event(
            organization=organization,
            kind="tle.imported",
            actor=actor,
            payload={"source": source[:300], "imported": len(report.imported), "refused": len(report.refused)},
        )
    if changed:
        recompute_passes(organization=organization, spacecraft_ids=changed)
    return report


def current_tle(spacecraft) -> TLE | None:
    return TLE.objects.filter(spacecraft=spacecraft).order_by("-epoch").first()


def current_tles(spacecraft_qs) -> dict:
    """Spacecraft id -> its newest TLE, one query."""
    rows = (
        TLE.objects.filter(spacecraft__in=spacecraft_qs).order_by("spacecraft_id", "-epoch").distinct("spacecraft_id")
    )
    return {tle.spacecraft_id: tle for tle in rows}


# -- ground stations ------------------------------------------------------------------------


def _check_station(values: dict) -> None:
    checks = {
        "latitude_deg": (-90, 90),
        "longitude_deg": (-180, 180),
        "altitude_m": (-500, 9000),
        "min_elevation_deg": (0, 89),
    }
    for name, (low, high) in checks.items():
        if name in values and not low <= values[name] <= high:
            raise DomainError(f"{name} must be between {low} and {high}, got {values[name]}", field=name)
    if "downlink_rate_bps" in values and values["downlink_rate_bps"] <= 0:
        raise DomainError("downlink_rate_bps must be positive", field="downlink_rate_bps")


@transaction.atomic
def create_station(*, organization: Organization, actor=None, **values) -> GroundStation:
    """Register a station and compute its passes for the horizon."""
    _check_station(values)
    lock_passes(organization_id=organization.pk)
    if GroundStation.objects.filter(organization=organization, name=values.get("name")).exists():
        raise ConflictError(f"station {values.get('name')!r} already exists", field="name")
    station = GroundStation.objects.create(organization=organization, **values)
    record_event(organization=organization, kind="station.created", subject=station, actor=actor, payload=values)
    recompute_passes(organization=organization, station_ids={station.pk})
    return station


@transaction.atomic
def update_station(*, station: GroundStation, actor=None, **values) -> GroundStation:
    """Change a station; its future passes are recomputed when its geometry changed."""
    unknown = set(values) - set(STATION_FIELDS)
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    _check_station(values)
    # Before the row lock: a recompute holding the passes lock inserts passes that key-share it.
    lock_passes(organization_id=station.organization_id)
    station = GroundStation.objects.select_for_update().get(pk=station.pk)
    name = values.get("name", station.name)
    if GroundStation.objects.filter(organization_id=station.organization_id, name=name).exclude(pk=station.pk).exists():
        raise ConflictError(f"station {name!r} already exists", field="name")
    changed = {k: v for k, v in values.items() if getattr(station, k) != v}
    if not changed:
        return station
    for key, value in changed.items():
        setattr(station, key, value)
    station.save(update_fields=[*changed, "updated_at"])
    record_event(
        organization=station.organization, kind="station.updated", subject=station, actor=actor, payload=changed
    )
    if set(changed) & {"latitude_deg", "longitude_deg", "altitude_m", "min_elevation_deg"}:
        recompute_passes(organization=station.organization, station_ids={station.pk})
    return station


@transaction.atomic
def delete_station(*, station: GroundStation, actor=None, now: datetime | None = None) -> None:
    """Delete a station with its passes. Refused (409, naming the plans) while a contact plan
    still has a contact at it that has not ended: those contacts release queued commands.
    Contacts already over go with the station; the event counts them."""
    now = now or timezone.now()
    lock_passes(organization_id=station.organization_id)
    contacts = Contact.objects.filter(station=station)
    pending_plans = sorted(set(contacts.filter(end__gt=now).values_list("plan_id", flat=True)))
    if pending_plans:
        raise ConflictError(
            f"station {station.name!r} has contacts not yet over in contact plan(s) "
            f"{', '.join(str(pk) for pk in pending_plans)}; delete it once they have ended"
        )
    record_event(
        organization=station.organization,
        kind="station.deleted",
        subject=station,
        actor=actor,
        payload={"name": station.name, "past_contacts_removed": contacts.count()},
    )
    station.delete()


# -- passes ---------------------------------------------------------------------------------


def lock_passes(*, organization_id: int) -> None:
    """Serialize the writers of one organization's passes until the transaction ends: two
    recomputes at once each delete the old passes and each insert their own, doubling every
    pass. Taken again in the same transaction it does not wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"orbits.passes.{organization_id}"])


@transaction.atomic
def recompute_passes(
    *,
    organization: Organization,
    spacecraft_ids=None,
    station_ids=None,
    start: datetime | None = None,
    horizon: timedelta = PASS_HORIZON,
    progress=None,
) -> int:
    """Replace the passes not yet over (LOS at or after `start`, default now) of the given
    spacecraft × stations (default: all of the organization) by fresh predictions from each
    spacecraft's newest TLE. Past passes are history and stay. A pass already announced as
    started keeps that mark, so recomputing never announces a pass twice. Recomputes of one
    organization run one after the other (`lock_passes`). Returns the count."""
    lock_passes(organization_id=organization.pk)
    start = start or timezone.now()
    fleet = Spacecraft.objects.filter(organization=organization)
    if spacecraft_ids is not None:
        fleet = fleet.filter(pk__in=spacecraft_ids)
    stations = GroundStation.objects.filter(organization=organization)
    if station_ids is not None:
        stations = stations.filter(pk__in=station_ids)
    stations = list(stations)
    # The set the nearest-epoch rule picks for the horizon; none past its hard age limit (a set
    # from years ago would store passes of an object long gone).
    tles = element_sets.element_sets_at(fleet, start)
    tles = {pk: tle for pk, tle in tles.items() if not element_sets.use(tle, start, start + horizon).too_old}
    spacecraft_list = [sc for sc in fleet if sc.pk in tles]
    stale = Pass.objects.filter(organization=organization, los__gte=start)
    if spacecraft_ids is not None:
        stale = stale.filter(spacecraft_id__in=spacecraft_ids)
    if station_ids is not None:
        stale = stale.filter(station__in=stations)
    announced = list(stale.filter(started_announced=True).values_list("spacecraft_id", "station_id", "aos", "los"))
    stale.delete()
    if not spacecraft_list or not stations:
        return 0
    lines = [(tles[sc.pk].line1, tles[sc.pk].line2) for sc in spacecraft_list]
    geometry = [pass_math.Station(s.latitude_deg, s.longitude_deg, s.altitude_m, s.min_elevation_deg) for s in stations]
    windows = pass_math.predict_lines(lines, geometry, start, start + horizon)
    rows = []
    for w in windows:
        spacecraft, station = spacecraft_list[w.satellite], stations[w.station]
        started = w.aos <= start and any(
            sc == spacecraft.pk and st == station.pk and aos <= w.los and los >= w.aos for sc, st, aos, los in announced
        )
        rows.append(
            Pass(
                organization=organization,
                spacecraft=spacecraft,
                station=station,
                tle=tles[spacecraft.pk],
                aos=w.aos,
                los=w.los,
                tca=w.tca,
                max_elevation_deg=w.max_elevation_deg,
                aos_azimuth_deg=w.aos_azimuth_deg,
                los_azimuth_deg=w.los_azimuth_deg,
                continuous=w.continuous,
                started_announced=started,
            )
        )
    Pass.objects.bulk_create(rows, batch_size=2000)
    if progress:
        progress(len(rows))
    live.publish("passes", {"kind": "recomputed", "count": len(rows)}, organization=organization)
    return len(rows)


def pass_message(p: Pass) -> dict:
    return {
        "id": p.pk,
        "spacecraft": str(p.spacecraft_id),
        "designation": p.spacecraft.designation,
        "station": p.station_id,
        "station_name": p.station.name,
        "aos": p.aos.isoformat(),
        "los": p.los.isoformat(),
        "tca": p.tca.isoformat(),
        "max_elevation_deg": round(p.max_elevation_deg, 2),
    }


def announce_passes(*, now: datetime | None = None, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Record `pass.started` / `pass.ended` events and live messages for passes whose AOS / LOS
    has come. A conditional UPDATE claims each one, so two workers never announce it twice;
    passes that ended long ago (the beat was down) are marked without flooding the log."""
    now = now or timezone.now()
    count = 0
    for flag, edge, kind in (("started_announced", "aos", "pass.started"), ("ended_announced", "los", "pass.ended")):
        due = Pass.objects.filter(**{flag: False, f"{edge}__lte": now}).select_related("spacecraft", "station")
        for p in due[:500]:
            with transaction.atomic():
                if not Pass.objects.filter(pk=p.pk, **{flag: False}).update(**{flag: True}):
                    continue
                if now - getattr(p, edge) > stale_after or (kind == "pass.started" and p.los < now):
                    continue
                message = pass_message(p)
                record_event(
                    organization=p.spacecraft.organization,
                    kind=kind,
                    subject=p.spacecraft,
                    payload=message,
                    publish=True,
                )
                live.publish("passes", {"kind": kind, **message}, organization=p.organization_id)
                count += 1
    return count


# -- fleet propagation ----------------------------------------------------------------------


@dataclass
class Position:
    spacecraft: Spacecraft
    at: datetime
    latitude_deg: float
    longitude_deg: float
    altitude_km: float
    speed_km_s: float
    sunlit: bool
    tle_epoch: datetime
    tle_id: int | None = None
    tle_age_days: float = 0.0
    tle_warning: str = ""
    tle_too_old: bool = False


def positions(*, spacecraft: list[Spacecraft], at: datetime, allow_stale: bool = True) -> list[Position]:
    """Where each spacecraft (with a TLE) is at `at`, from the set the nearest-epoch rule picks
    (with its age); spacecraft whose SGP4 fails are left out, and so are those whose set is past
    its hard age limit unless `allow_stale`."""
    tles = element_sets.element_sets_at([sc.pk for sc in spacecraft], at)
    uses = {pk: element_sets.use(tle, at, at) for pk, tle in tles.items()}
    with_tle = [sc for sc in spacecraft if sc.pk in tles and (allow_stale or not uses[sc.pk].too_old)]
    if not with_tle:
        return []
    result = prop.track(
        [prop.satrec_from_lines(tles[sc.pk].line1, tles[sc.pk].line2) for sc in with_tle],
        [at],
        velocity=True,
        sun=True,
    )
    out = []
    for i, sc in enumerate(with_tle):
        if result.error[i, 0]:
            continue
        out.append(
            Position(
                sc,
                at,
                float(result.latitude_deg[i, 0]),
                float(result.longitude_deg[i, 0]),
                float(result.altitude_km[i, 0]),
                float(result.speed_km_s[i, 0]),
                bool(result.sunlit[i, 0]),
                tles[sc.pk].epoch,
                tles[sc.pk].pk,
                uses[sc.pk].age_days,
                uses[sc.pk].warning,
                uses[sc.pk].too_old,
            )
        )
    return out


def position_message(p: Position) -> dict:
    return {
        "id": str(p.spacecraft.pk),
        "designation": p.spacecraft.designation,
        "lat": round(p.latitude_deg, 4),
        "lon": round(p.longitude_deg, 4),
        "alt_km": round(p.altitude_km, 2),
        "speed_km_s": round(p.speed_km_s, 4),
        "sunlit": p.sunlit,
        "tle_age_days": round(p.tle_age_days, 2),
        "tle_warning": p.tle_warning,
    }


def propagate_fleet(*, now: datetime | None = None, tick_s: float = 5.0) -> int:
    """Propagate every spacecraft with a TLE to `now`, publish one `positions` message per
    organization on `fleet`, and feed the energy model: the battery charges in sunlight and
    drains in eclipse (written when the change reaches 0.5 % or the light changes)."""
    now = now or timezone.now()
    fleet = list(Spacecraft.objects.filter(tles__isnull=False).distinct().select_related("organization"))
    found = positions(spacecraft=fleet, at=now, allow_stale=False)
    by_org: dict = {}
    for p in found:
        by_org.setdefault(p.spacecraft.organization_id, []).append(position_message(p))
        _feed_energy(p, tick_s)
    for organization_id, items in by_org.items():
        live.publish(
            "fleet", {"kind": "positions", "at": now.isoformat(), "positions": items}, organization=organization_id
        )
    return len(found)


_energy_pending: dict = {}


def _feed_energy(p: Position, tick_s: float) -> None:
    rate = CHARGE_PCT_PER_MIN if p.sunlit else -ECLIPSE_DRAIN_PCT_PER_MIN
    key = p.spacecraft.pk
    pending = _energy_pending.get(key, 0.0) + rate * tick_s / 60.0
    soc = p.spacecraft.battery_soc_pct
    target = min(100.0, max(0.0, soc + pending))
    if abs(target - soc) >= 0.5 or (target in (0.0, 100.0) and target != soc):
        spacecraft_services.update_state(
            spacecraft=p.spacecraft, battery_soc_pct=round(target, 2), reason="orbit energy"
        )
        pending = 0.0
    elif target == soc:
        pending = 0.0
    _energy_pending[key] = pending


# -- contact plans --------------------------------------------------------------------------


@transaction.atomic
def build_contact_plan(*, organization: Organization, start: datetime, end: datetime, requests: list[dict], actor=None):
    """A contact plan for [start, end] from the stored passes: greedy by priority, one station
    per spacecraft and one spacecraft per station at a time; every request not fully served is
    listed with its reason. `requests`: [{"spacecraft": Spacecraft, "priority": int, "volume_bits": int}]."""
    from . import scheduling
    from .models import ContactPlan

    if end <= start:
        raise DomainError("end must be after start", field="end")
    if end - start > timedelta(days=7):
        raise DomainError("a plan covers at most 7 days", field="end")
    seen = set()
    for item in requests:
        sc = item["spacecraft"]
        if sc.organization_id != organization.pk:
            raise DomainError(f"spacecraft {sc.pk} is not in {organization.slug}", field="requests")
        if sc.pk in seen:
            raise DomainError(f"spacecraft {sc.designation} is requested twice", field="requests")
        seen.add(sc.pk)
    # The passes read must not be replaced meanwhile, nor a station deleted under its contacts.
    lock_passes(organization_id=organization.pk)
    passes = list(
        Pass.objects.filter(
            organization=organization, spacecraft_id__in=seen, los__gt=start, aos__lt=end
        ).select_related("station")
    )
    windows = [
        scheduling.Window(
            p.pk, p.spacecraft_id, p.station_id, p.station.name, p.aos, p.los, p.station.downlink_rate_bps
        )
        for p in passes
    ]
    asks = [
        scheduling.Request(r["spacecraft"].pk, r["spacecraft"].designation, r.get("priority", 0), r["volume_bits"])
        for r in requests
    ]
    result = scheduling.plan(asks, windows, start, end)
    contact_plan = ContactPlan.objects.create(
        organization=organization,
        start=start,
        end=end,
        requests={
            str(r["spacecraft"].pk): {"priority": r.get("priority", 0), "volume_bits": r["volume_bits"]}
            for r in requests
        },
        unserved=result.unserved,
        created_by=user_or_none(actor),
    )
    Contact.objects.bulk_create(
        [
            Contact(
                plan=contact_plan,
                spacecraft_id=b.request.spacecraft,
                station_id=b.window.station,
                pass_ref_id=b.window.pass_id,
                start=b.start,
                end=b.end,
                volume_bits=b.volume_bits,
                priority=b.request.priority,
            )
            for b in result.bookings
        ]
    )
    record_event(
        organization=organization,
        kind="contact_plan.created",
        subject=contact_plan,
        actor=actor,
        payload={"contacts": len(result.bookings), "unserved": len(result.unserved)},
    )
    live.publish("passes", {"kind": "plan", "id": contact_plan.pk}, organization=organization)
    return contact_plan
