"""Real headless Chromium (Debian's) against a real daphne: log in, see the fleet, watch a mode change
made through the API arrive over the live socket without a reload."""

import json
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
