import pytest

pytestmark = pytest.mark.django_db


def test_map_and_passes_pages_render_for_members(client, viewer, sc_a, station_a):
    client.force_login(viewer)
    page = client.get("/orbits/")
    assert page.status_code == 200 and b"orbit-map" in page.content and b"Wallops" in page.content
    assert b"vendor/leaflet/leaflet.js" in page.content and b"countries-110m.json" in page.content
    passes = client.get("/orbits/passes/")
    assert passes.status_code == 200 and b"timeline" in passes.content
    # Both headers lead to the conjunctions page.
    for answer in (page, passes):
        assert b'href="/orbits/conjunctions/"' in answer.content


def test_pages_need_login(client):
    assert client.get("/orbits/").status_code == 302


def test_passes_page_predicts_a_chosen_window(client, viewer, stranger, make_spacecraft, org_a, station_a):
    from orbits.services import import_tles

    from .conftest import DATA

    spacecraft = make_spacecraft(org_a, "SC-PAGE", norad_id=90005)
    import_tles(organization=org_a, text=(DATA / "mixed.tle").read_text())
    client.force_login(viewer)
    query = {
        "spacecraft": spacecraft.pk,
        "station": station_a.pk,
        "start": "2024-03-27T00:00",
        "end": "2024-04-01T00:00",
    }
    page = client.get("/orbits/passes/", query)
    assert page.status_code == 200 and b"predicted-passes" in page.content
    assert b"SGP4 stopped (decayed)" in page.content and b"days old here" in page.content
    ad_hoc = client.get("/orbits/passes/", {**query, "station": "", "lat": 10, "lon": 20})
    assert b"predicted-passes" in ad_hoc.content
    too_long = client.get("/orbits/passes/", {**query, "end": "2024-05-01T00:00"})
    assert b"at most 31 days" in too_long.content and b"predicted-passes" not in too_long.content
    no_site = client.get("/orbits/passes/", {**query, "station": ""})
    assert b"give the latitude and longitude" in no_site.content
    client.force_login(stranger)
    theirs = client.get("/orbits/passes/", query)
    assert theirs.status_code == 200 and b"predicted-passes" not in theirs.content


def test_stored_passes_are_paged_sorted_and_filtered(client, viewer, org_a, org_b, sc_a, make_spacecraft, station_a):
    from datetime import timedelta

    from django.utils import timezone

    from orbits.models import GroundStation

    from .conftest import stored_pass

    now = timezone.now()
    other = make_spacecraft(org_a, "SC-ZZ")
    foreign_station = GroundStation.objects.create(
        organization=org_b, name="Elsewhere", latitude_deg=0, longitude_deg=0, altitude_m=0, min_elevation_deg=5
    )
    foreign = make_spacecraft(org_b, "SC-B")

    def stored(sc, station, hours, el=30.0):
        return stored_pass(sc, station, now + timedelta(hours=hours), minutes=8, max_elevation_deg=el)

    for i in range(60):
        stored(sc_a, station_a, 1 + i, el=10 + i)
    stored(other, station_a, 0.5)
    stored(sc_a, station_a, -3)  # over
    stored(foreign, foreign_station, 2)
    client.force_login(viewer)

    page = client.get("/orbits/passes/")
    table = page.context["passes_table"]
    assert table.count == 61 and len(table.rows) == 50  # upcoming only, this organization's, 50 a page
    assert [p.spacecraft.designation for p in table.rows[:2]] == ["SC-ZZ", sc_a.designation]  # by AOS
    assert b"Elsewhere" not in page.content and b"SC-B" not in page.content
    assert client.get("/orbits/passes/", {"page": 2}).context["passes_table"].page.number == 2

    by_elevation = client.get("/orbits/passes/", {"sort": "-max_el"}).context["passes_table"]
    assert by_elevation.rows[0].max_elevation_deg == 69
    assert b'aria-sort="descending"' in client.get("/orbits/passes/", {"sort": "-max_el"}).content

    only = client.get("/orbits/passes/", {"pass_spacecraft": str(other.pk)}).context["passes_table"]
    assert [p.spacecraft_id for p in only.rows] == [other.pk]
    past = client.get("/orbits/passes/", {"when": "past"}).context["passes_table"]
    assert past.count == 1 and past.rows[0].los < now
    # Another organization's ids and malformed ones show nothing, never an error.
    for query in ({"pass_spacecraft": str(foreign.pk)}, {"pass_station": str(foreign_station.pk)},
                  {"pass_spacecraft": "not-a-uuid"}, {"pass_station": "²"}):  # fmt: skip
        answer = client.get("/orbits/passes/", query)
        assert answer.status_code == 200 and answer.context["passes_table"].count == 0, query
