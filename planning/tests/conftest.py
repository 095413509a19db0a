"""Planning fixtures: an imaging spacecraft with a fresh element set, a station under its track,
a tile template, and a target placed under the spacecraft's ground track (so that the windows
the tests expect exist whatever the day they run)."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from orbits import propagation

NORAD_ID = 99001


def fresh_tle(epoch: datetime, *, norad_id: int = NORAD_ID, name: str = "PLANNER-TEST") -> str:
    """A 550 km sun-synchronous element set with its epoch at `epoch`."""
    sat = Satrec()
    days = (epoch.astimezone(UTC).replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    n_rev = 86400 / (2 * math.pi * math.sqrt((6378.137 + 550) ** 3 / 398600.4418))
    sat.sgp4init(
        WGS72, "i", norad_id, days, 2e-5, 0.0, 0.0, 0.001,
        math.radians(30), math.radians(97.6), math.radians(120), n_rev / 720 * math.pi, math.radians(10),
    )  # fmt: skip
    sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", "26001A", 999, 1
    line1, line2 = export_tle(sat)
    return f"{name}\n{line1}\n{line2}\n"


def sub_point(tle_text: str, at: datetime) -> tuple[float, float]:
    _, line1, line2 = tle_text.strip().splitlines()
    track = propagation.track([propagation.satrec_from_lines(line1, line2)], [at])
    return float(track.latitude_deg[0, 0]), float(track.longitude_deg[0, 0])


@pytest.fixture
def template_a(org_a, owner):
    from jobs.services import save_template

    return save_template(
        organization=org_a,
        actor=owner,
        name="quick tiles",
        kind="tile",
        params={"size_px": 32, "blocks": 1},
        footprint={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
    )


@pytest.fixture
def imaging(org_a, owner, make_spacecraft):
    """Spacecraft (fresh TLE), a station seeing it 40 minutes after `t0`, and the point under it at `t0`."""
    from orbits.services import create_station, import_tles

    epoch = timezone.now().replace(microsecond=0)
    text = fresh_tle(epoch)
    spacecraft = make_spacecraft(org_a, "IMG-1", norad_id=NORAD_ID)
    import_tles(organization=org_a, text=text, actor=owner)
    t0 = epoch + timedelta(hours=2)
    lat, lon = sub_point(text, t0)
    st_lat, st_lon = sub_point(text, t0 + timedelta(minutes=40))
    station = create_station(
        organization=org_a,
        name="Under-track",
        latitude_deg=round(st_lat, 4),
        longitude_deg=round(st_lon, 4),
        altitude_m=0,
        min_elevation_deg=5,
        downlink_rate_bps=100_000_000,
    )
    return {"spacecraft": spacecraft, "station": station, "t0": t0, "lat": lat, "lon": lon, "tle": text}


@pytest.fixture
def make_request(org_a, owner, template_a):
    from planning.services import create_request

    def make(lat, lon, *, start=None, deadline=None, priority=5, volume_bits=2 * 10**9, name="Target", **extra):
        start = start or timezone.now()
        return create_request(
            organization=org_a,
            actor=owner,
            name=name,
            target={"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            earliest_start=start,
            deadline=deadline or start + timedelta(hours=24),
            volume_bits=volume_bits,
            template=template_a,
            priority=priority,
            min_sun_elevation_deg=extra.pop("min_sun_elevation_deg", None),
            **extra,
        )

    return make


def angular_gap(lat1, lon1, lat2, lon2) -> float:
    a = np.radians([lat1, lon1, lat2, lon2])
    return float(np.degrees(np.arccos(np.sin(a[0]) * np.sin(a[2]) + np.cos(a[0]) * np.cos(a[2]) * np.cos(a[1] - a[3]))))
