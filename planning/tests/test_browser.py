"""The planning page in real headless Chromium against a real daphne: the target drawn on the
map goes into the request form; names operators typed are drawn as text."""

import pytest

from missionops.testing import in_thread, log_in, wait_until
from planning.models import ImagingRequest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_draw_a_polygon_target_and_create_the_request(live_server_daphne, operator, template_a, browser_page):
    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, "/planning/")
    wait_until(page, "document.querySelectorAll('#planning-map path').length > 100", timeout_ms=15_000)
    box = page.locator("#planning-map").bounding_box()
    for dx, dy in ((0.50, 0.40), (0.56, 0.40), (0.56, 0.46)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    page.click("#close-polygon")
    assert '"Polygon"' in page.input_value("#id_target")
    page.fill("#id_name", "Drawn area")
    page.fill("#id_priority", "7")
    page.fill("#id_earliest_start", "2030-01-01 00:00")
    page.fill("#id_deadline", "2030-01-02 00:00")
    page.select_option("#id_template", str(template_a.pk))
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("text=Drawn area", timeout=10_000)
    request = in_thread(lambda: ImagingRequest.objects.get(name="Drawn area"))
    ring = request.target["coordinates"][0]
    assert request.target["type"] == "Polygon" and len(ring) == 4 and ring[0] == ring[-1]
    assert request.priority == 7 and request.state == "pending"


@pytest.fixture
def request_named_like_markup(make_request):
    return make_request(10.0, 20.0, name='<img src=x onerror="window.__xss=1">')


def test_a_request_name_is_drawn_as_text(live_server_daphne, viewer, request_named_like_markup, browser_page):
    page, base = browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/planning/")
    page.wait_for_selector("#planning-map .leaflet-interactive", timeout=10_000)
    page.locator("#planning-map .leaflet-interactive").last.hover()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None


@pytest.fixture
def pending_request(make_request):
    return make_request(10.0, 20.0, name="Watched target")


def test_request_state_follows_live(live_server_daphne, viewer, pending_request, browser_page):
    from planning.models import RequestState
    from planning.services import set_state

    page, base = browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/planning/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=15_000)
    row = f'#request-table tr[data-id="{pending_request.pk}"] [data-f="state"]'
    assert page.inner_text(row).startswith("Pending")
    in_thread(lambda: set_state(request=pending_request, state=RequestState.PLANNED))
    wait_until(page, f"document.querySelector('{row}').textContent.startsWith('Planned')")
