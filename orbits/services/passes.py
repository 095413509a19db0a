"""Stored passes: recomputed from the newest element sets, one writer per organization at a time,
and announced as they start and end."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from missionops import live
from missionops.models import Organization
from missionops.services import record_event
from spacecraft.models import Spacecraft

from .. import element_sets
from .. import passes as pass_math
from ..models import GroundStation, Pass
from ..representations import PassSerializer

PASS_HORIZON = timedelta(hours=48)


def lock_passes(*, organization_id: int) -> None:
    """Serialize the writers of one organization's passes until the transaction ends.

    Two recomputes at once would each delete the old passes and each insert their own, doubling
    every pass. Taken again in the same transaction it does not wait."""
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
    """Replace the passes not yet over of the given spacecraft × stations by fresh ones; returns the count.

    Not yet over: LOS at or after `start` (default now); default spacecraft and stations: all of
    the organization's; predicted from each spacecraft's newest TLE. Past passes are history and
    stay. A pass already announced as started keeps that mark, so recomputing never announces a
    pass twice. Recomputes of one organization run one after the other (`lock_passes`)."""
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
    rows = _pass_rows(organization, windows, spacecraft_list, stations, tles, announced, start)
    Pass.objects.bulk_create(rows, batch_size=2000)
    if progress:
        progress(len(rows))
    live.publish("passes", {"kind": "recomputed", "data": {"count": len(rows)}}, organization=organization)
    return len(rows)


def _pass_rows(organization, windows, spacecraft_list, stations, tles, announced, start) -> list[Pass]:
    """Unsaved passes for the predicted windows; one in progress at `start` that was announced
    before the recompute keeps that mark."""
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
    return rows


def announce_passes(*, now: datetime | None = None, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Record `pass.started` / `pass.ended` events and live messages for passes whose AOS / LOS has come.

    A conditional UPDATE claims each one, so two workers never announce it twice;
    passes that ended long ago (the beat was down) are marked without flooding the log."""
    now = now or timezone.now()
    count = 0
    for flag, edge, kind in (("started_announced", "aos", "pass.started"), ("ended_announced", "los", "pass.ended")):
        due = Pass.objects.filter(**{flag: False, f"{edge}__lte": now}).select_related("spacecraft", "station", "tle")
        for p in due[:500]:
            with transaction.atomic():
                if not Pass.objects.filter(pk=p.pk, **{flag: False}).update(**{flag: True}):
                    continue
                if now - getattr(p, edge) > stale_after or (kind == "pass.started" and p.los < now):
                    continue
                message = live.live_message(kind, PassSerializer, p)
                record_event(
                    organization=p.spacecraft.organization,
                    kind=kind,
                    subject=p.spacecraft,
                    payload=message["data"],
                    publish=True,
                )
                live.publish("passes", message, organization=p.organization_id)
                count += 1
    return count
