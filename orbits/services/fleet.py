"""Fleet propagation: where each spacecraft is, published on `fleet`, and the energy model it feeds."""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils import timezone

from missionops import live
from spacecraft import services as spacecraft_services
from spacecraft.models import Spacecraft

from .. import element_sets, geojson
from .. import propagation as prop
from ..representations import PositionSerializer

# Energy model fed by the eclipse flag: %/minute of battery gained in sunlight, lost in shadow.
CHARGE_PCT_PER_MIN = 0.5
ECLIPSE_DRAIN_PCT_PER_MIN = 0.7


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


def ground_tracks(*, spacecraft: list[Spacecraft], first: datetime, last: datetime, step_s: float, at: datetime):
    """The ground track of each spacecraft over [first, last] as (spacecraft, element-set use,
    GeoJSON feature), the fleet propagated at once; each from the set the nearest-epoch rule picks
    for `at`. Spacecraft without a set, or whose set is past its hard age limit over the track, are
    left out; samples where SGP4 fails are gaps in the line."""
    tles = element_sets.element_sets_at([sc.pk for sc in spacecraft], at)
    chosen = []
    for sc in spacecraft:
        if sc.pk in tles:
            use = element_sets.use(tles[sc.pk], first, last)
            if not use.too_old:
                chosen.append((sc, use))
    if not chosen:
        return []
    times = prop.time_grid(first, last, step_s)
    track = prop.track([prop.satrec_from_lines(use.tle.line1, use.tle.line2) for _, use in chosen], times)
    found = []
    for i, (sc, use) in enumerate(chosen):
        bad = track.error[i] != 0
        lat, lon = np.where(bad, np.nan, track.latitude_deg[i]), np.where(bad, np.nan, track.longitude_deg[i])
        properties = {"spacecraft": str(sc.pk), "designation": sc.designation}
        found.append((sc, use, geojson.track_feature(lat, lon, properties)))
    return found


def propagate_fleet(*, now: datetime | None = None, tick_s: float = 5.0) -> int:
    """Propagate every spacecraft with a TLE to `now`, publish the positions and feed the energy model.

    One `positions` message per organization on `fleet`. The battery charges in sunlight and
    drains in eclipse (written when the change reaches 0.5 % or the light changes)."""
    now = now or timezone.now()
    fleet = list(Spacecraft.objects.filter(tles__isnull=False).distinct().select_related("organization"))
    found = positions(spacecraft=fleet, at=now, allow_stale=False)
    by_org: dict = {}
    for p in found:
        by_org.setdefault(p.spacecraft.organization_id, []).append(p)
        _feed_energy(p, tick_s)
    for organization_id, items in by_org.items():
        message = live.live_message("positions", PositionSerializer, items, many=True)
        live.publish("fleet", message, organization=organization_id)
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
