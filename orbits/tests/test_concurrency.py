"""Writers of passes running at once, each on its own database connection: the hourly beat
recompute against a second recompute, a station edit or a TLE import."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Count

from missionops.testing import run_at_once
from orbits import services
from orbits.models import GroundStation, Pass

from .test_api import fresh_tle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def leo_over_wallops(org_a, make_spacecraft, station_a):
    spacecraft = make_spacecraft(org_a, "SC-LEO", norad_id=90001)
    services.import_tles(organization=org_a, text=fresh_tle(90001))
    assert Pass.objects.filter(spacecraft=spacecraft).exists()
    return spacecraft


@pytest.mark.parametrize("second_writer", ["recompute", "station edit", "tle import"])
def test_concurrent_pass_writers_store_each_pass_once(org_a, station_a, leo_over_wallops, second_writer):
    others = {
        "recompute": lambda: services.recompute_passes(organization=org_a),
        "station edit": lambda: services.update_station(station=station_a, min_elevation_deg=10),
        "tle import": lambda: services.import_tles(organization=org_a, text=fresh_tle(90001)),
    }
    errors = run_at_once(lambda: services.recompute_passes(organization=org_a), others[second_writer])
    assert errors == []
    duplicated = Pass.objects.values("spacecraft", "station", "aos").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicated.exists()
    stored = Pass.objects.count()
    # What one recompute alone keeps: nothing left over from the writer that lost the race.
    assert services.recompute_passes(organization=org_a) == stored
    assert Pass.objects.count() == stored


def test_the_database_refuses_a_second_pass_with_the_same_aos(leo_over_wallops):
    first = Pass.objects.first()
    first.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


def test_a_station_edit_waits_for_a_recompute_instead_of_deadlocking(org_a, station_a, leo_over_wallops):
    """update_station locks the station row; a recompute inserting passes at it needs that row
    too. Both take the passes lock first, so neither holds what the other waits for."""
    more = [
        GroundStation.objects.create(organization=org_a, name=f"Extra {i}", latitude_deg=10 * i, longitude_deg=-70)
        for i in range(3)
    ]
    errors = run_at_once(
        lambda: services.recompute_passes(organization=org_a),
        *(lambda s=s: services.update_station(station=s, min_elevation_deg=12) for s in [station_a, *more]),
    )
    assert errors == []
