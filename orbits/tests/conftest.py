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
