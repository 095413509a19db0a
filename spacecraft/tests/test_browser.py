"""Real headless Chromium (Debian's) against a real daphne: log in, see the fleet, watch a mode change
made through the API arrive over the live socket without a reload."""

import json
import time
import urllib.request
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from missionops.testing import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def api_post(base_url, path, token, body):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def operator_token(operator):
    return Token.objects.create(user=operator).key


# Database fixtures come before browser_page: Playwright's sync API runs an event loop, and
# Django refuses synchronous ORM calls while one is running.
def test_fleet_updates_live_after_an_api_mode_change(live_server_daphne, operator, operator_token, sc_a, browser_page):
    page, base, token = browser_page, live_server_daphne, operator_token
    log_in(page, base, operator.username)

    card = page.locator(f"#sc-{sc_a.pk}")
    assert card.locator(".designation").inner_text() == "SC-001"
    assert card.get_attribute("data-mode") == "nominal"
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    page.evaluate("window.__noReload = true")  # survives only if the page is never reloaded

    status, body = api_post(base, f"/api/v1/spacecraft/{sc_a.pk}/state/", token, {"mode": "safe", "reason": "test"})
    assert status == 200 and body["mode"] == "safe"

    page.wait_for_selector(f'.mode-column[data-mode="safe"] #sc-{sc_a.pk}', timeout=10_000)
    assert card.locator('[data-field="mode"]').inner_text().lower() == "safe"
    assert page.locator('.mode-column[data-mode="safe"] .count').inner_text() == "1"
    assert page.evaluate("window.__noReload") is True
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "fleet.png"), full_page=True)


def test_a_change_pushed_while_the_catch_up_fetch_is_in_flight_is_not_undone_by_it(
    live_server_daphne, operator, operator_token, sc_a, browser_page
):
    """The page's catch-up fetch (sent once the server joined its topic) reads the spacecraft, then
    the mode changes and its message reaches the page, then the fetch's answer arrives: the page
    must end on the change, not on the older state the fetch read."""
    page, base, token = browser_page, live_server_daphne, operator_token
    held = {"fetches": 0}

    def answer_late(route):
        held["fetches"] += 1
        if held["fetches"] > 1:
            route.continue_()
            return
        response = route.fetch()  # read now: still nominal
        status, _ = api_post(base, f"/api/v1/spacecraft/{sc_a.pk}/state/", token, {"mode": "safe", "reason": "t"})
        assert status == 200
        time.sleep(1.5)  # the change's message reaches the page before this answer
        route.fulfill(response=response)

    page.route(f"**/api/v1/spacecraft/{sc_a.pk}/", answer_late)
    log_in(page, base, operator.username, f"/spacecraft/{sc_a.pk}/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    deadline = time.monotonic() + 10
    while held["fetches"] == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(2500)  # the held answer, then anything after it
    assert held["fetches"] >= 1
    assert page.locator("#sc-mode").inner_text().lower() == "safe"
