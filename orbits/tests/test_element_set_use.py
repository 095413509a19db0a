"""Every prediction besides /passes/predict/ (ground track, stored passes, next pass) names the
element set it used and its age, and follows the nearest-epoch rule and the age refusal."""

from datetime import UTC, datetime, timedelta

import pytest

from orbits import services
from orbits.models import TLE, Pass

from .conftest import DATA, reepoch
from .test_api import fresh_tle

pytestmark = pytest.mark.django_db

FIRST = datetime(2024, 3, 1, tzinfo=UTC)
SECOND = datetime(2024, 3, 10, tzinfo=UTC)


@pytest.fixture
def two_sets(make_spacecraft, org_a):
    spacecraft = make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    line1, line2 = (DATA / "mixed.tle").read_text().splitlines()[1:3]
    services.import_tles(organization=org_a, text=reepoch(line1, line2, FIRST))
    services.import_tles(organization=org_a, text=reepoch(line1, line2, SECOND))
    old, new = TLE.objects.filter(spacecraft=spacecraft).order_by("epoch")
    return spacecraft, old, new


def test_ground_track_uses_the_nearest_epoch_set_and_names_it(api, viewer, two_sets):
    spacecraft, old, new = two_sets
    url = f"/api/v1/spacecraft/{spacecraft.pk}/ground-track/"
    at = FIRST + timedelta(days=2)
    track = api(viewer).get(url, {"at": at.isoformat(), "minutes_before": 0, "minutes_after": 60})
    assert track.status_code == 200, track.data
    element_set = track.data["element_set"]
    assert element_set["id"] == old.pk  # not the newest set: its epoch is after `at`
    assert element_set["age_days"] == pytest.approx(2 + 60 / 1440, abs=0.001)
    assert element_set["warning"] == ""
    after = api(viewer).get(url, {"at": (SECOND + timedelta(hours=1)).isoformat()})
    assert after.status_code == 200 and after.data["element_set"]["id"] == new.pk


def test_ground_track_warns_and_refuses_like_predict(api, viewer, two_sets):
    spacecraft, _, new = two_sets
    url = f"/api/v1/spacecraft/{spacecraft.pk}/ground-track/"
    warned = api(viewer).get(url, {"at": (SECOND + timedelta(days=20)).isoformat()})
    assert warned.status_code == 200 and "warning after 14 days" in warned.data["element_set"]["warning"]
    far = {"at": (SECOND + timedelta(days=90)).isoformat()}
    refused = api(viewer).get(url, far)
    assert refused.status_code == 400 and refused.data["field"] == "allow_stale"
    assert "60 days" in refused.data["detail"]
    forced = api(viewer).get(url, {**far, "allow_stale": "true"})
    assert forced.status_code == 200 and forced.data["element_set"]["id"] == new.pk
    assert forced.data["features"]


def test_stored_passes_and_next_pass_carry_the_element_set_and_its_age(api, viewer, make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-LEO", norad_id=90001)
    services.import_tles(organization=org_a, text=fresh_tle())
    tle = TLE.objects.get(spacecraft=spacecraft)
    stored = Pass.objects.filter(spacecraft=spacecraft).order_by("aos").first()
    assert stored is not None and stored.tle_id == tle.pk
    listed = api(viewer).get("/api/v1/passes/", {"spacecraft": spacecraft.pk})
    assert listed.status_code == 200
    first = listed.data["results"][0]
    age = max(abs((stored.aos - tle.epoch).total_seconds()), abs((stored.los - tle.epoch).total_seconds())) / 86400
    assert first["element_set"] == tle.pk and first["element_set_age_days"] == pytest.approx(age, abs=0.001)
    assert first["element_set_epoch"] is not None and first["element_set_warning"] == ""
    nxt = api(viewer).get(f"/api/v1/spacecraft/{spacecraft.pk}/next-pass/")
    assert nxt.status_code == 200 and nxt.data["element_set"] == tle.pk
    assert nxt.data["element_set_age_days"] >= 0
    # A set deleted since: the pass stays listed, without an age.
    tle.delete()
    orphan = api(viewer).get(f"/api/v1/passes/{stored.pk}/")
    assert orphan.status_code == 200 and orphan.data["element_set"] is None
    assert orphan.data["element_set_age_days"] is None
