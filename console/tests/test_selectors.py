import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console import selectors
from spacecraft.profiles import PROFILES
from telemetry import services as telemetry


@pytest.fixture
def station(org_a):
    from orbits.services import create_station

    return create_station(
        organization=org_a, name="Wallops", latitude_deg=37.94, longitude_deg=-75.47, altitude_m=10, min_elevation_deg=5
    )


def add_pass(sc, station, aos, minutes=10):
    from orbits.models import Pass

    return Pass.objects.create(
        organization=sc.organization,
        spacecraft=sc,
        station=station,
        aos=aos,
        los=aos + dt.timedelta(minutes=minutes),
        tca=aos + dt.timedelta(minutes=minutes / 2),
        max_elevation_deg=40,
        aos_azimuth_deg=10,
        los_azimuth_deg=200,
    )


def send(sc, moment, values):
    snapshot = {"spacecraft": str(sc.pk), "timestamp": moment.isoformat(), "parameters": values}
    telemetry.ingest(snapshots=[snapshot], scope=telemetry.organization_scope(sc.organization))


def test_tile_link_state_in_contact_next_and_last(owner, make_spacecraft, org_a, station):
    now = timezone.now()
    in_contact = make_spacecraft(org_a, "SC-001")
    waiting = make_spacecraft(org_a, "SC-002")
    add_pass(in_contact, station, now - dt.timedelta(minutes=2))
    add_pass(waiting, station, now - dt.timedelta(hours=2))
    upcoming = add_pass(waiting, station, now + dt.timedelta(minutes=30))
    tiles = {t.spacecraft.designation: t for t in selectors.fleet_tiles(owner, now=now)}
    assert tiles["SC-001"].in_contact is not None and tiles["SC-001"].next_pass is None
    assert tiles["SC-002"].in_contact is None and tiles["SC-002"].next_pass == upcoming
    assert tiles["SC-002"].last_contact == now - dt.timedelta(hours=2) + dt.timedelta(minutes=10)


def test_open_alarms_by_severity_and_attention_order(owner, make_spacecraft, org_a):
    calm = make_spacecraft(org_a, "SC-001", parameters=PROFILES["LEO_IMAGING"])
    hot = make_spacecraft(org_a, "SC-002", parameters=PROFILES["LEO_IMAGING"])
    start = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=20)
    for i in range(5):
        send(hot, start + dt.timedelta(seconds=i), {"panel_temp": 139.0, "payload_temp": 33.0})
        send(calm, start + dt.timedelta(seconds=i), {"panel_temp": 20.0})
    tiles = selectors.fleet_tiles(owner)
    assert [t.spacecraft.designation for t in tiles] == ["SC-002", "SC-001"]  # the one needing attention first
    assert tiles[0].alarms == {"critical": 1, "warning": 1} and tiles[0].attention == "critical"
    assert tiles[1].alarms == {} and tiles[1].last_data_at is not None and not tiles[1].stale
    counters = selectors.fleet_counters(tiles)
    assert counters["critical"] == 1 and counters["warning"] == 1 and counters["attention"] == 1


def test_battery_comes_from_the_live_state_and_is_never_a_sparkline(owner, sc_a):
    from spacecraft.services import update_state

    update_state(spacecraft=sc_a, battery_soc_pct=42.0)
    now = timezone.now().replace(second=0, microsecond=0)
    for minute in range(3):
        for second in (0, 30):
            send(
                sc_a,
                now - dt.timedelta(minutes=3 - minute, seconds=-second),
                {"battery_soc": 90.0, "bus_voltage": 28.0},
            )
    telemetry.roll_up(limit=1000)
    (tile,) = selectors.fleet_tiles(owner)
    assert tile.spacecraft.battery_soc_pct == 42.0
    assert [s.parameter for s in tile.sparks] == ["bus_voltage", "solar_array_current"]
    assert [round(v, 1) for _, v in tile.sparks[0].points] == [28.0, 28.0, 28.0]


def test_stale_when_the_newest_sample_is_old(owner, sc_a):
    send(sc_a, timezone.now() - dt.timedelta(minutes=10), {"bus_voltage": 28.0})
    (tile,) = selectors.fleet_tiles(owner)
    assert tile.stale and tile.attention == "warning"


def test_other_organizations_spacecraft_are_not_tiles(owner, stranger, make_spacecraft, org_a, org_b):
    make_spacecraft(org_a, "SC-A")
    make_spacecraft(org_b, "SC-B")
    assert [t.spacecraft.designation for t in selectors.fleet_tiles(owner)] == ["SC-A"]
    assert [t.spacecraft.designation for t in selectors.fleet_tiles(stranger)] == ["SC-B"]


def test_query_count_does_not_grow_with_the_fleet(owner, make_spacecraft, org_a, station):
    def count():
        with CaptureQueriesContext(connection) as queries:
            selectors.fleet_tiles(owner)
        return len(queries)

    for _ in range(2):
        make_spacecraft(org_a, parameters=PROFILES["GNSS"])
    few = count()
    for _ in range(10):
        sc = make_spacecraft(org_a, parameters=PROFILES["GNSS"])
        add_pass(sc, station, timezone.now() + dt.timedelta(minutes=5))
    assert count() == few
