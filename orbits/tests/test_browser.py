"""The orbits map in real headless Chromium against a real daphne: names operators typed are drawn
as text (Leaflet puts a string marker label in with innerHTML)."""

import pytest

from missionops.testing import in_thread, log_in, wait_until

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


def test_countries_across_180_degrees_are_unwrapped_before_they_are_drawn(live_server_daphne, viewer, browser_page):
    """Russia, Fiji and Antarctica cross the antimeridian in world-atlas; drawn as they came, their
    rings jumped 360° between two points and made bands across the whole map. The page's land goes
    through MissionOpsGeo.unwrapLand: no ring it draws jumps more than 180° (rings around the pole,
    Antarctica's, are left as they are and the flat map draws them right)."""
    page, base = browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/orbits/")
    wait_until(page, "document.querySelectorAll('#orbit-map path').length > 100", timeout_ms=15_000)
    jumps = page.evaluate(
        """async () => {
          const atlas = await (await fetch(document.getElementById("orbit-map").dataset.atlas)).json();
          const jumps = {};
          for (const f of topojson.feature(atlas, atlas.objects.countries).features) {
            if (!f.geometry) continue;
            for (const polygon of MissionOpsGeo.unwrapLand(f.geometry).coordinates) {
              for (const ring of polygon) {
                const lons = ring.map((p) => p[0]);
                if (Math.max(...lons) - Math.min(...lons) >= 359.9) continue;  // around a pole
                for (let i = 1; i < ring.length; i++) {
                  const jump = Math.abs(ring[i][0] - ring[i - 1][0]);
                  if (jump > 180) jumps[f.properties.name || f.id] = jump;
                }
              }
            }
          }
          return jumps;
        }"""
    )
    assert jumps == {}


def test_the_pass_timeline_zooms_and_moves(live_server_daphne, viewer, station_named_like_markup, browser_page):
    page, base = browser_page, live_server_daphne
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/passes/?" in r.url else None)
    log_in(page, base, viewer.username, "/orbits/passes/")
    wait_until(page, "document.querySelectorAll('#tl-ticks span').length === 9")  # 24 h, a label every 3 h
    first = page.locator("#tl-range").inner_text()
    page.click('#tl-zoom button[data-span="72"]')
    wait_until(page, "document.querySelectorAll('#tl-ticks span').length === 7")  # 72 h, every 12 h
    assert page.locator('#tl-zoom button[data-span="72"]').get_attribute("aria-pressed") == "true"
    page.click('#tl-zoom button[data-move="1"]')
    wait_until(page, f"document.getElementById('tl-range').textContent !== {first!r}")
    moved = page.locator("#tl-range").inner_text()
    page.click('#tl-zoom button[data-move="0"]')
    wait_until(page, f"document.getElementById('tl-range').textContent !== {moved!r}")
    # Each view asked for its own window of passes.
    windows = {url.split("start=")[1].split("&")[0] for url in asked}
    assert len(windows) >= 2


@pytest.fixture
def leo_with_elements(make_spacecraft, org_a):
    from orbits import services

    from .test_api import fresh_tle

    leo = make_spacecraft(org_a, "SC-LEO", norad_id=90001)
    services.import_tles(organization=org_a, text=fresh_tle())
    return leo


def test_the_map_moves_a_spacecraft_from_a_live_positions_message(
    live_server_daphne, viewer, leo_with_elements, browser_page
):
    """A `positions` message carries positions as /api/v1/orbits/positions/ answers them
    (`latitude_deg`, `altitude_km`): the page draws them without renaming a field."""
    from datetime import UTC, datetime, timedelta

    from orbits import services

    leo, page, base = leo_with_elements, browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/orbits/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    at = datetime.now(UTC) + timedelta(minutes=30)  # elsewhere than the catch-up fetch put it
    in_thread(services.propagate_fleet, now=at)
    [p] = in_thread(services.positions, spacecraft=[leo], at=at)
    wait_until(page, f"document.getElementById('orbit-updated').textContent.includes('{at:%H:%M:%S}')")
    row = page.locator(f'#orbit-table tr[data-id="{leo.pk}"]')
    assert row.locator('[data-f="lat"]').text_content() == f"{p.latitude_deg:.2f}"
    assert row.locator('[data-f="alt_km"]').text_content() == f"{p.altitude_km:.1f}"
