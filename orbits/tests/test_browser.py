"""The orbits map in real headless Chromium against a real daphne: names operators typed are drawn
as text (Leaflet puts a string marker label in with innerHTML)."""

import pytest

from missionops.testing import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCRIPTED_NAME = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def station_named_like_markup(org_a):
    from orbits.services import create_station

    return create_station(
        organization=org_a, name=SCRIPTED_NAME, latitude_deg=10, longitude_deg=10, altitude_m=0, min_elevation_deg=5
    )


def test_a_station_name_is_drawn_as_text_on_the_map(
    live_server_daphne, viewer, station_named_like_markup, browser_page
):
    page, base = browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/orbits/")
    page.wait_for_selector(".sc-marker", timeout=10_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".sc-marker", has_text=SCRIPTED_NAME).count() == 1
