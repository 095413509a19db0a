from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
ISS_TLE = """ISS (ZARYA)
1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537
"""


@pytest.fixture
def mixed_tle_text():
    return (DATA / "mixed.tle").read_text()


@pytest.fixture
def station_a(org_a):
    from orbits.services import create_station

    return create_station(
        organization=org_a, name="Wallops", latitude_deg=37.94, longitude_deg=-75.47, altitude_m=10, min_elevation_deg=5
    )


def stored_pass(spacecraft, station, aos, *, minutes: float = 10, max_elevation_deg: float = 40.0):
    """A stored pass of `spacecraft` over `station` from `aos`, culminating half-way."""
    from datetime import timedelta

    from orbits.models import Pass

    return Pass.objects.create(
        organization=spacecraft.organization,
        spacecraft=spacecraft,
        station=station,
        aos=aos,
        los=aos + timedelta(minutes=minutes),
        tca=aos + timedelta(minutes=minutes / 2),
        max_elevation_deg=max_elevation_deg,
        aos_azimuth_deg=10,
        los_azimuth_deg=200,
    )


def reepoch(line1: str, line2: str, epoch, name: str = "TEST") -> str:
    """The element set of `line1`/`line2` with its epoch moved to `epoch` (a UTC datetime), as
    3-line TLE text: the same orbit shape, so tests can place it relative to now."""
    from datetime import datetime

    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    base = Satrec.twoline2rv(line1, line2, WGS72)
    days = (epoch.replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", base.satnum, days, base.bstar, base.ndot, 0.0, base.ecco,
        base.argpo, base.inclo, base.mo, base.no_kozai, base.nodeo,
    )  # fmt: skip
    sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", "24001A", 999, 1
    return f"{name}\n" + "\n".join(export_tle(sat)) + "\n"


DECAYING = (
    "1 90005U 24001A   24080.00000000  .00500000  00000-0  80000-3 0  9991",
    "2 90005  51.6000  45.0000 0008000  30.0000 330.0000 16.15000000 10008",
)
