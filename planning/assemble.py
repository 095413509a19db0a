"""From access windows to a planning instance: imaging opportunities centred on each window's
peak elevation, contacts from station windows with the contact plans' capacity (data rate ×
duration). Shared by the planning service and the bench."""

from dataclasses import dataclass

import numpy as np

from .access import Fleet, Windows, light_segments
from .instance import Contact, Instance, Opportunity, Request, Spacecraft


@dataclass
class SpacecraftSpec:
    key: object
    memory_bits: int
    soc_pct: float
    safe_pct: float
    image_cost_pct: float
    slew_s: int
    imaging_s: int
    charge_pct_per_s: float
    drain_pct_per_s: float
    can_image: bool = True  # False: in safe mode or worse, no new images


def build_instance(
    *,
    fleet: Fleet,
    horizon_s: int,
    spacecraft: list[SpacecraftSpec],
    requests: list[Request],
    target_windows: Windows,
    station_windows: Windows,
    station_keys: list,
    station_rates_bps: list[int],
    earliest_s: int = 0,
) -> tuple[Instance, list[float]]:
    """The instance and, per opportunity, the peak elevation it images at."""
    fleet_specs = [
        Spacecraft(
            key=spec.key,
            memory_bits=spec.memory_bits,
            soc_pct=spec.soc_pct,
            safe_pct=spec.safe_pct,
            image_cost_pct=spec.image_cost_pct,
            slew_s=spec.slew_s,
            charge_pct_per_s=spec.charge_pct_per_s,
            drain_pct_per_s=spec.drain_pct_per_s,
            light=light_segments(fleet, si),
        )
        for si, spec in enumerate(spacecraft)
    ]
    opportunities, elevations = [], []
    w = target_windows
    imaging = np.array([spec.imaging_s for spec in spacecraft], dtype=np.int64)
    allowed = np.array([spec.can_image for spec in spacecraft], dtype=bool)
    if len(w):
        d = imaging[w.spacecraft]
        start = np.round(w.tca_s).astype(np.int64) - d // 2
        start = np.maximum(start, np.ceil(w.start_s).astype(np.int64))
        end = start + d
        r_earliest = np.array([r.earliest_s for r in requests], dtype=np.int64)
        r_deadline = np.array([r.deadline_s for r in requests], dtype=np.int64)
        ok = (
            allowed[w.spacecraft]
            & (end <= np.floor(w.end_s))
            & (start >= np.maximum(r_earliest[w.site], earliest_s))
            & (end <= r_deadline[w.site])
        )
        for i in np.flatnonzero(ok):
            opportunities.append(Opportunity(int(w.site[i]), int(w.spacecraft[i]), int(start[i]), int(end[i])))
            elevations.append(float(w.max_elevation_deg[i]))
    contacts = []
    s = station_windows
    for i in range(len(s)):
        a, b = int(np.ceil(s.start_s[i])), int(np.floor(s.end_s[i]))
        if b - a < 30:
            continue
        station = int(s.site[i])
        contacts.append(
            Contact(int(s.spacecraft[i]), station_keys[station], a, b, (b - a) * int(station_rates_bps[station]))
        )
    return Instance(horizon_s, fleet_specs, requests, opportunities, contacts), elevations
