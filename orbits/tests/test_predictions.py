"""Passes on demand (GET /api/v1/passes/predict/) against skyfield as the oracle, the
nearest-epoch rule of the element-set history, and the age warning / refusal."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from orbits import element_sets, passes, predictions, services
from orbits.models import TLE, Pass

from .conftest import DATA, DECAYING, ISS_TLE, reepoch

pytestmark = pytest.mark.django_db

SITES = {
    "Svalbard": (78.2298, 15.4078, 458, 5),
    "McMurdo": (-77.8419, 166.6863, 10, 0),
    "Quito": (-0.1807, -78.4678, 2850, 10),
    "Hartebeesthoek": (-25.8872, 27.7075, 1555, 10),
}
MIXED_EPOCH = datetime(2024, 3, 20, tzinfo=UTC)


def skyfield_events(tle: TLE, site, start, end):
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    sat = EarthSatellite(tle.line1, tle.line2, "x", ts)
    lat, lon, alt, min_el = site
    # skyfield can miss an event close to its window's end: search a wider window, keep ours.
    times, events = sat.find_events(
        wgs84.latlon(lat, lon, elevation_m=alt),
        ts.from_datetime(start - timedelta(hours=1)),
        ts.from_datetime(end + timedelta(hours=1)),
        altitude_degrees=min_el,
    )
    found = [(t.utc_datetime(), int(e)) for t, e in zip(times, events, strict=True)]
    return [(t, e) for t, e in found if start <= t <= end]


def elevation(tle: TLE, site, when) -> float:
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    sat = EarthSatellite(tle.line1, tle.line2, "x", ts)
    lat, lon, alt, _ = site
    return (sat - wgs84.latlon(lat, lon, elevation_m=alt)).at(ts.from_datetime(when)).altaz()[0].degrees


@pytest.fixture
def mixed(make_spacecraft, org_a):
    fleet = {norad: make_spacecraft(org_a, f"SC-{norad}", norad_id=norad) for norad in range(90001, 90006)}
    services.import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    return fleet


@pytest.mark.parametrize(
    "norad,offset_days,days",
    [
        (90001, -3, 4),  # polar LEO, a window before its epoch (no earlier set)
        (90001, 2, 3),  # and after it
        (90002, 1, 2),  # ISS-like
        (90003, 0, 6),  # Molniya
        (90005, 7, 4),  # decaying: the prediction ends where SGP4 stops
    ],
)
def test_passes_match_skyfield_for_past_and_future_windows(mixed, norad, offset_days, days):
    spacecraft = mixed[norad]
    tle = TLE.objects.get(spacecraft=spacecraft)
    start = MIXED_EPOCH + timedelta(days=offset_days, minutes=17)
    end = start + timedelta(days=days)
    compared = 0
    for name, site in SITES.items():
        result = predictions.predict_passes(spacecraft=spacecraft, station=passes.Station(*site), start=start, end=end)
        assert result.element_sets[0].tle == tle
        errors = result.sgp4_errors.get(tle.pk)
        oracle_end = errors["last_valid"] if errors else end
        events = skyfield_events(tle, site, start, oracle_end)
        rises = [t for t, e in events if e == 0]
        sets = [t for t, e in events if e == 2]
        ours = [p for p in result.passes if not p.continuous]
        our_rises = [p.aos for p in ours if not p.cut_at_start]
        our_sets = [p.los for p in ours if not p.cut_at_end and not p.sgp4_end]
        for theirs, ours_, rising in ((rises, our_rises, True), (sets, our_sets, False)):
            # Every skyfield event is ours within 1.05 s ...
            for a in theirs:
                assert min(abs((a - b).total_seconds()) for b in ours_) < 1.05, (name, a)
                compared += 1
            # ... and any of ours skyfield missed is a true crossing by skyfield's own elevations.
            for b in ours_:
                if min((abs((a - b).total_seconds()) for a in theirs), default=99) >= 1.05:
                    before = elevation(tle, site, b - timedelta(seconds=2))
                    after = elevation(tle, site, b + timedelta(seconds=2))
                    assert (before < site[3] < after) if rising else (before > site[3] > after), (name, b)
        # A pass in progress at an edge is cut there: skyfield starts (ends) with no rise (set).
        if events and events[0][1] != 0:
            assert result.passes[0].cut_at_start and result.passes[0].aos == start
        if events and events[-1][1] != 2 and not errors:
            assert result.passes[-1].cut_at_end and result.passes[-1].los == end
        for p in result.passes:
            assert start <= p.aos <= p.tca <= p.los <= end
    assert compared > 0, "skyfield found no rise or set to compare with"


def test_geo_is_one_continuous_pass_cut_at_the_window(mixed):
    spacecraft = mixed[90004]
    start = MIXED_EPOCH + timedelta(hours=5)
    end = start + timedelta(days=3)
    result = predictions.predict_passes(
        spacecraft=spacecraft, station=passes.Station(*SITES["Hartebeesthoek"]), start=start, end=end
    )
    (only,) = result.passes
    assert only.continuous and only.aos == start and only.los == end and only.cut_at_start and only.cut_at_end


def test_old_window_with_an_old_set_the_iss_in_2008(make_spacecraft, org_a):
    iss = make_spacecraft(org_a, "ISS", norad_id=25544)
    services.import_tles(organization=org_a, text=ISS_TLE)
    tle = TLE.objects.get(spacecraft=iss)
    start, end = datetime(2008, 9, 20, tzinfo=UTC), datetime(2008, 9, 27, tzinfo=UTC)
    site = SITES["Quito"]
    result = predictions.predict_passes(spacecraft=iss, station=passes.Station(*site), start=start, end=end)
    rises = [t for t, e in skyfield_events(tle, site, start, end) if e == 0]
    ours = [p.aos for p in result.passes if not p.cut_at_start]
    assert len(rises) == len(ours) > 3
    assert max(abs((a - b).total_seconds()) for a, b in zip(rises, ours, strict=True)) < 1.0


def test_nearest_epoch_rule_and_history(make_spacecraft, org_a):
    spacecraft = make_spacecraft(org_a, "SC-HIST", norad_id=90001)
    first = datetime(2024, 3, 1, tzinfo=UTC)
    second = datetime(2024, 3, 10, tzinfo=UTC)
    line1, line2 = (DATA / "mixed.tle").read_text().splitlines()[1:3]
    services.import_tles(organization=org_a, text=reepoch(line1, line2, second))
    services.import_tles(organization=org_a, text=reepoch(line1, line2, first))  # an older one, later
    assert TLE.objects.filter(spacecraft=spacecraft).count() == 2  # the history is kept
    old, new = TLE.objects.filter(spacecraft=spacecraft).order_by("epoch")
    assert element_sets.element_set_at(spacecraft, first - timedelta(days=5)) == old  # none before: earliest
    assert element_sets.element_set_at(spacecraft, first + timedelta(days=8)) == old  # before t, not nearest after
    assert element_sets.element_set_at(spacecraft, second + timedelta(days=1)) == new
    assert element_sets.element_sets_at([spacecraft.pk], second - timedelta(seconds=1)) == {spacecraft.pk: old}
    start = second - timedelta(days=1)
    result = predictions.predict_passes(
        spacecraft=spacecraft, station=passes.Station(*SITES["Svalbard"]), start=start, end=start + timedelta(days=2)
    )
    assert [u.tle for u in result.element_sets] == [old, new]
    assert result.element_sets[0].end == result.element_sets[1].start == second
    assert {p.element_set for p in result.passes if p.aos < second} == {old.pk}
    assert {p.element_set for p in result.passes if p.aos > second} == {new.pk}


def test_age_warning_and_refusal(api, viewer, make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-AGE", norad_id=90001)
    line1, line2 = (DATA / "mixed.tle").read_text().splitlines()[1:3]
    now = timezone.now().replace(microsecond=0)
    services.import_tles(organization=org_a, text=reepoch(line1, line2, now - timedelta(days=20)))
    client = api(viewer)
    query = {"spacecraft": spacecraft.pk, "station": station_a.pk}
    query.update(start=now.isoformat(), end=(now + timedelta(days=1)).isoformat())
    warned = client.get("/api/v1/passes/predict/", query)
    assert warned.status_code == 200
    assert warned.data["element_set"]["age_days"] == pytest.approx(21, abs=0.01)
    assert "warning after 14 days" in warned.data["element_set"]["warning"] and warned.data["warnings"]
    later = {**query, "start": (now + timedelta(days=50)).isoformat(), "end": (now + timedelta(days=51)).isoformat()}
    refused = client.get("/api/v1/passes/predict/", later)
    assert refused.status_code == 400 and refused.data["field"] == "allow_stale"
    assert "60 days" in refused.data["detail"]
    forced = client.get("/api/v1/passes/predict/", {**later, "allow_stale": "true"})
    assert forced.status_code == 200 and forced.data["passes"]
    position = client.get(f"/api/v1/spacecraft/{spacecraft.pk}/position/")
    assert position.status_code == 200 and position.data["tle_age_days"] == pytest.approx(20, abs=0.01)
    assert position.data["tle_warning"]
    far = (now + timedelta(days=100)).isoformat()
    assert client.get(f"/api/v1/spacecraft/{spacecraft.pk}/position/", {"at": far}).status_code == 400
    forced = client.get(f"/api/v1/spacecraft/{spacecraft.pk}/position/", {"at": far, "allow_stale": "true"})
    assert forced.status_code == 200


def test_recompute_stores_no_passes_from_a_set_past_its_age_limit(make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-OLD", norad_id=90001)
    line1, line2 = (DATA / "mixed.tle").read_text().splitlines()[1:3]
    services.import_tles(organization=org_a, text=reepoch(line1, line2, timezone.now() - timedelta(days=400)))
    assert services.recompute_passes(organization=org_a) == 0
    assert not Pass.objects.filter(spacecraft=spacecraft).exists()


def test_predict_api_happy_paths_ad_hoc_site_and_scoping(api, viewer, stranger, make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-API", norad_id=90005)
    services.import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    client = api(viewer)
    start, end = "2024-03-26T00:00:00Z", "2024-04-02T00:00:00Z"
    by_station = client.get(
        "/api/v1/passes/predict/", {"spacecraft": spacecraft.pk, "station": station_a.pk, "start": start, "end": end}
    )
    assert by_station.status_code == 200, by_station.data
    body = by_station.data
    assert body["sgp4_errors"][0]["error"] == "decayed" and body["sgp4_errors"][0]["last_valid"]
    assert body["passes"] and set(body["passes"][0]) >= {
        "aos", "tca", "los", "max_elevation_deg", "aos_azimuth_deg", "los_azimuth_deg", "continuous",
    }  # fmt: skip
    ad_hoc = client.get(
        "/api/v1/passes/predict/",
        {
            "spacecraft": spacecraft.pk,
            "lat": 37.94,
            "lon": -75.47,
            "alt_m": 10,
            "min_elevation_deg": 5,
            "start": start,
            "end": end,
        },  # fmt: skip
    )
    assert ad_hoc.status_code == 200
    assert [p["aos"] for p in ad_hoc.data["passes"]] == [p["aos"] for p in body["passes"]]
    assert not Pass.objects.filter(spacecraft=spacecraft, aos__lt=datetime(2024, 4, 3, tzinfo=UTC)).exists()
    other = api(stranger)
    query = {"spacecraft": spacecraft.pk, "lat": 0, "lon": 0, "start": start, "end": end}
    assert other.get("/api/v1/passes/predict/", query).status_code == 404
    assert api().get("/api/v1/passes/predict/", {"spacecraft": spacecraft.pk}).status_code in (401, 403)


def test_predict_api_refuses_another_organizations_station(api, stranger, viewer, make_spacecraft, org_a, org_b):
    from orbits.services import create_station

    spacecraft = make_spacecraft(org_a, "SC-X", norad_id=90001)
    services.import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    theirs = create_station(organization=org_b, name="Theirs", latitude_deg=0, longitude_deg=0)
    response = api(viewer).get(
        "/api/v1/passes/predict/",
        {
            "spacecraft": spacecraft.pk,
            "station": theirs.pk,
            "start": "2024-03-20T00:00:00Z",
            "end": "2024-03-21T00:00:00Z",
        },  # fmt: skip
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "change,field",
    [
        ({"end": None}, "end"),
        ({"start": "2024-03-20T00:00:00"}, "start"),
        ({"start": "soon"}, "start"),
        ({"end": "2024-04-21T00:00:01Z"}, "end"),  # 32 days
        ({"end": "2024-03-19T00:00:00Z"}, "end"),
        ({"start": "1956-12-31T00:00:00Z", "end": "1957-01-02T00:00:00Z"}, "start"),
        ({"lat": 1.0}, "station"),
        ({"station": None, "lat": 10.0}, "lon"),
        ({"station": None, "lat": 91.0, "lon": 0.0}, "lat"),
        ({"station": None, "lat": 1.0, "lon": 0.0, "min_elevation_deg": 95}, "min_elevation_deg"),
        ({"spacecraft": "not-a-uuid"}, "spacecraft"),
        ({"allow_stale": "perhaps"}, "allow_stale"),
    ],
)
def test_predict_api_bad_input_names_the_field(api, viewer, make_spacecraft, org_a, station_a, change, field):
    spacecraft = make_spacecraft(org_a, "SC-BAD", norad_id=90001)
    services.import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    query = {"spacecraft": spacecraft.pk, "station": station_a.pk}
    query.update(start="2024-03-20T00:00:00Z", end="2024-03-21T00:00:00Z")
    query.update(change)
    query = {k: v for k, v in query.items() if v is not None}
    response = api(viewer).get("/api/v1/passes/predict/", query)
    assert response.status_code == 400 and response.data["field"] == field, response.data


def test_predict_without_any_element_set_is_a_400(api, viewer, make_spacecraft, org_a, station_a):
    spacecraft = make_spacecraft(org_a, "SC-NONE")
    response = api(viewer).get(
        "/api/v1/passes/predict/",
        {
            "spacecraft": spacecraft.pk,
            "station": station_a.pk,
            "start": "2024-03-20T00:00:00Z",
            "end": "2024-03-21T00:00:00Z",
        },  # fmt: skip
    )
    assert response.status_code == 400 and response.data["field"] == "spacecraft"


def test_decaying_set_ends_the_prediction_where_sgp4_reports_decay(make_spacecraft, org_a):
    """The decay fixture: SGP4 is valid up to `last_valid` and reports decay (error 6) just after;
    the prediction names the error there and no pass reaches past it."""
    from sgp4.api import Satrec, jday

    spacecraft = make_spacecraft(org_a, "SC-DECAY", norad_id=90005)
    services.import_tles(organization=org_a, text=reepoch(*DECAYING, MIXED_EPOCH))
    tle = TLE.objects.get(spacecraft=spacecraft)
    start = MIXED_EPOCH + timedelta(days=6)
    result = predictions.predict_passes(
        spacecraft=spacecraft, station=passes.Station(*SITES["Quito"]), start=start, end=start + timedelta(days=6)
    )
    failure = result.sgp4_errors[tle.pk]
    assert failure["error"] == "decayed" and failure["code"] == 6
    last_valid = failure["last_valid"]
    assert start < last_valid < start + timedelta(days=6)
    satrec = Satrec.twoline2rv(tle.line1, tle.line2)

    def sgp4_error(when):
        return satrec.sgp4(*jday(*when.timetuple()[:5], when.second + when.microsecond / 1e6))[0]

    assert sgp4_error(last_valid) == 0 and sgp4_error(last_valid + timedelta(seconds=5)) == 6
    assert result.passes and all(p.los <= last_valid for p in result.passes)
