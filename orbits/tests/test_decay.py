"""Decaying objects end their prediction where SGP4 stops: nothing non-finite is stored or
served, and the pass list stays 200."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orbits import services
from orbits.models import Pass

from .conftest import DECAYING, reepoch

pytestmark = pytest.mark.django_db


def test_decaying_object_stores_finite_passes_up_to_its_decay(api, viewer, make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-DECAY", norad_id=90005)
    # About nine days after its epoch this object decays: put that inside the 48 h horizon.
    epoch = timezone.now() - timedelta(days=8, hours=12)
    services.import_tles(organization=org_a, text=reepoch(*DECAYING, epoch))
    stored = list(Pass.objects.filter(spacecraft=spacecraft))
    assert stored
    for p in stored:
        assert -90 <= p.max_elevation_deg <= 90 and 0 <= p.aos_azimuth_deg <= 360 and 0 <= p.los_azimuth_deg <= 360
    listed = api(viewer).get("/api/v1/passes/", {"limit": 1000})
    assert listed.status_code == 200 and len(listed.data["results"]) == len(stored)
    last = max(p.los for p in stored)
    assert last < epoch + timedelta(days=10)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_database_refuses_a_non_finite_pass(make_spacecraft, org_a, station_a, value):
    spacecraft = make_spacecraft(org_a, "SC-NAN")
    now = timezone.now()
    fields = dict(
        organization=org_a, spacecraft=spacecraft, station=station_a, aos=now, los=now, tca=now,
        max_elevation_deg=10.0, aos_azimuth_deg=10.0, los_azimuth_deg=10.0,
    )  # fmt: skip
    for name in ("max_elevation_deg", "aos_azimuth_deg", "los_azimuth_deg"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Pass.objects.create(**{**fields, name: value})
