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
