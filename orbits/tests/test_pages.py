import pytest

pytestmark = pytest.mark.django_db


def test_map_and_passes_pages_render_for_members(client, viewer, sc_a, station_a):
    client.force_login(viewer)
    page = client.get("/orbits/")
    assert page.status_code == 200 and b"orbit-map" in page.content and b"Wallops" in page.content
    assert b"vendor/leaflet/leaflet.js" in page.content and b"countries-110m.json" in page.content
    passes = client.get("/orbits/passes/")
    assert passes.status_code == 200 and b"timeline" in passes.content


def test_pages_need_login(client):
    assert client.get("/orbits/").status_code == 302
