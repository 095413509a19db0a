"""Conjunction screening of an organization's spacecraft against the catalogue (writes).

The maths is in `orbits.conjunctions`; this stores what it finds: approaches under
`ORBITS_CONJUNCTION_THRESHOLD_KM` replace the organization's future ones, and each approach
under `ORBITS_CONJUNCTION_CRITICAL_KM` records a `conjunction.critical` event and raises (or
refreshes) the spacecraft's one critical alarm on the `conjunction_miss_km` condition.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from missionops import live
from missionops.exceptions import DomainError
from missionops.models import Organization
from missionops.representations import represent
from missionops.services import record_event
from spacecraft.models import Spacecraft

from .. import conjunctions, element_sets, tle_format
from ..exceptions import CatalogueFormatError
from ..models import CatalogueObject, Conjunction
from ..representations import ConjunctionSerializer

ALARM_PARAMETER = "conjunction_miss_km"


@transaction.atomic
def import_catalogue(*, text: str, source: str) -> int:
    """Store the element sets of `text` (TLE or OMM JSON) as catalogue objects; returns how many changed.

    For each NORAD id the newest epoch is kept. All or nothing: a payload with any set refused
    stores nothing and raises CatalogueFormatError naming the first fault."""
    parsed = tle_format.parse(text)
    if parsed.refused:
        first = parsed.refused[0]
        raise CatalogueFormatError(
            f"{len(parsed.refused)} element set(s) refused, the first at {first.location}: {first.reason}",
            field="payload",
        )
    if not parsed.element_sets:
        raise CatalogueFormatError("no element set in the payload", field="payload")
    newest: dict[int, tle_format.ElementSet] = {}
    for element_set in parsed.element_sets:
        kept = newest.get(element_set.norad_id)
        if kept is None or element_set.epoch > kept.epoch:
            newest[element_set.norad_id] = element_set
    stored = {o.norad_id: o for o in CatalogueObject.objects.filter(norad_id__in=list(newest)).select_for_update()}
    changed, created = [], []
    for norad_id, element_set in newest.items():
        values = {
            "object_name": element_set.object_name[:80],
            "epoch": element_set.epoch,
            "line1": element_set.line1,
            "line2": element_set.line2,
            "source": source[:300],
        }
        current = stored.get(norad_id)
        if current is None:
            created.append(CatalogueObject(norad_id=norad_id, **values))
        elif element_set.epoch > current.epoch:
            for key, value in values.items():
                setattr(current, key, value)
            changed.append(current)
    CatalogueObject.objects.bulk_create(created, batch_size=2000)
    fields = ["object_name", "epoch", "line1", "line2", "source", "updated_at"]
    now = timezone.now()
    for obj in changed:
        obj.updated_at = now
    CatalogueObject.objects.bulk_update(changed, fields, batch_size=2000)
    return len(created) + len(changed)


def screen_conjunctions(
    *,
    organization: Organization,
    start: datetime | None = None,
    days: float | None = None,
    threshold_km: float | None = None,
    critical_km: float | None = None,
    processes: int = 2,
) -> list[Conjunction]:
    """Screen the organization's spacecraft against the catalogue over [start, start + days].

    Every spacecraft with a usable element set: the approaches under the threshold replace the
    stored ones with TCA at or after `start` in one transaction; those under the critical
    threshold are announced (event + alarm). Returns the stored approaches."""
    start = start or timezone.now()
    days = days if days is not None else float(settings.ORBITS_CONJUNCTION_DAYS)
    threshold_km = threshold_km if threshold_km is not None else float(settings.ORBITS_CONJUNCTION_THRESHOLD_KM)
    critical_km = critical_km if critical_km is not None else float(settings.ORBITS_CONJUNCTION_CRITICAL_KM)
    if not 0 < days <= 31:
        raise DomainError("days must be between 0 and 31", field="days")
    if not 0 < critical_km <= threshold_km <= 100:
        raise DomainError("need 0 < critical_km <= threshold_km <= 100", field="threshold_km")
    end = start + timedelta(days=days)
    fleet = list(Spacecraft.objects.filter(organization=organization))
    tles = element_sets.element_sets_at([sc.pk for sc in fleet], start)
    fleet = [sc for sc in fleet if sc.pk in tles and not element_sets.use(tles[sc.pk], start, end).too_old]
    ours = {sc.norad_id for sc in fleet if sc.norad_id}
    catalogue = list(CatalogueObject.objects.exclude(norad_id__in=ours).order_by("norad_id"))
    approaches = conjunctions.screen(
        [(tles[sc.pk].line1, tles[sc.pk].line2) for sc in fleet],
        [(o.line1, o.line2) for o in catalogue],
        start,
        end,
        threshold_km=threshold_km,
        processes=processes,
    )
    # The screen runs outside any transaction (minutes for a large catalogue); the replacement
    # of the stored approaches and the announcements are one transaction.
    with transaction.atomic():
        return _store(organization, fleet, tles, catalogue, approaches, start, end, threshold_km, critical_km)


def _store(organization, fleet, tles, catalogue, approaches, start, end, threshold_km, critical_km):
    # Two screens of one organization at once would each delete and each insert: one at a time.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"orbits.conjunctions.{organization.pk}"])
    Conjunction.objects.filter(organization=organization, tca__gte=start).delete()
    rows = [
        Conjunction(
            organization=organization,
            spacecraft=fleet[a.primary],
            tle=tles[fleet[a.primary].pk],
            secondary_norad_id=catalogue[a.secondary].norad_id,
            secondary_name=catalogue[a.secondary].object_name,
            secondary_epoch=catalogue[a.secondary].epoch,
            tca=a.tca,
            miss_distance_km=a.miss_distance_km,
            radial_km=a.radial_km,
            in_track_km=a.in_track_km,
            cross_track_km=a.cross_track_km,
            relative_speed_km_s=a.relative_speed_km_s,
            critical=a.miss_distance_km < critical_km,
        )
        for a in approaches
    ]
    Conjunction.objects.bulk_create(rows, batch_size=2000)
    for row in rows:
        if row.critical:
            _announce_critical(row, critical_km)
    record_event(
        organization=organization,
        kind="conjunctions.screened",
        payload={
            "spacecraft": len(fleet),
            "catalogue": len(catalogue),
            "approaches": len(rows),
            "critical": sum(r.critical for r in rows),
            "threshold_km": threshold_km,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
        publish=False,
    )
    return rows


def _announce_critical(c: Conjunction, critical_km: float) -> None:
    """An event, and the spacecraft's one live alarm on `conjunction_miss_km` (opened, or its
    peak lowered when this approach is closer)."""
    from anomalies.models import Anomaly, DetectorKind, Severity
    from telemetry.models import ParameterDefinition

    message = represent(ConjunctionSerializer, c)
    record_event(
        organization=c.organization, kind="conjunction.critical", subject=c.spacecraft, payload=message, publish=True
    )
    parameter, _ = ParameterDefinition.objects.get_or_create(
        spacecraft=c.spacecraft,
        name=ALARM_PARAMETER,
        defaults={"units": "km", "declared": False, "crit_low": critical_km},
    )
    now = timezone.now()
    text = (
        f"conjunction with NORAD {c.secondary_norad_id} {c.secondary_name} at {c.tca:%Y-%m-%d %H:%M:%S} UTC: "
        f"miss {c.miss_distance_km * 1000:.0f} m"
    )[:300]
    entry = {  # this approach as the alarm's limit detector record (one alarm per condition)
        "kind": DetectorKind.LIMIT.value,
        "severity": Severity.CRITICAL.value,
        "threshold": "crit_low",
        "threshold_value": critical_km,
        "first_at": now.isoformat(),
        "last_at": now.isoformat(),
        "peak_value": c.miss_distance_km,
        "peak_at": c.tca.isoformat(),
        "peak_score": 0.0,
        "critical_since": now.isoformat(),
        "active": True,
        "cleared_at": None,
        "key": now.isoformat(),
    }
    live_alarm = Anomaly.objects.live().select_for_update().filter(parameter=parameter).first()
    if live_alarm is None:
        Anomaly.objects.create(
            organization=c.organization,
            spacecraft=c.spacecraft,
            parameter=parameter,
            parameter_name=ALARM_PARAMETER,
            units="km",
            detector=DetectorKind.LIMIT,
            detectors=[entry],
            severity=Severity.CRITICAL,
            threshold="crit_low",
            threshold_value=critical_km,
            message=text,
            started_at=now,
            detected_at=now,
            last_seen_at=now,
            peak_value=c.miss_distance_km,
            peak_at=c.tca,
            critical_since=now,
            context=message,
        )
    else:
        live_alarm.last_seen_at = now
        fields = ["last_seen_at", "detectors"]
        record = next((e for e in live_alarm.detectors if e.get("kind") == entry["kind"]), None)
        if record is None:
            live_alarm.detectors = [*live_alarm.detectors, entry]
        else:
            record["last_at"], record["active"] = entry["last_at"], True
        if live_alarm.peak_value is None or c.miss_distance_km < live_alarm.peak_value:
            live_alarm.peak_value, live_alarm.peak_at, live_alarm.message = c.miss_distance_km, c.tca, text
            fields += ["peak_value", "peak_at", "message"]
            if record is not None:
                record["peak_value"], record["peak_at"] = entry["peak_value"], entry["peak_at"]
        live_alarm.save(update_fields=fields)
    live.publish("alarms", {"kind": "conjunction.critical", "data": message}, organization=c.organization)
