"""Real headless Chromium (Debian's) against a real daphne: log in, see the fleet, watch a mode change
made through the API arrive over the live socket without a reload."""

import json
import time
import urllib.request
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from missionops.testing import log_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def api_post(base_url, path, token, body, method="POST"):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        method=method,
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


@pytest.fixture
def owner_token(owner):
    return Token.objects.create(user=owner).key


@pytest.fixture
def watcher(make_user, org_a):
    return make_user("watcher", org_a, "operator")


@pytest.fixture
def critical_next_contact_command(operator, sc_a):
    from spacecraft import services

    return services.create_command(
        spacecraft=sc_a, name="rw_reset", args={"wheel": 1}, actor=operator, release_mode="next_contact"
    )


def test_a_rename_shows_on_the_fleet_page_live(live_server_daphne, owner, owner_token, sc_a, browser_page):
    page, base = browser_page, live_server_daphne
    log_in(page, base, owner.username)
    page.evaluate("window.__noReload = true")
    status, _ = api_post(base, f"/api/v1/spacecraft/{sc_a.pk}/", owner_token, {"name": "Kestrel"}, method="PATCH")
    assert status == 200
    card = page.locator(f"#sc-{sc_a.pk}")
    wait_until(page, f"document.querySelector('#sc-{sc_a.pk} a').textContent.includes('Kestrel')")
    assert card.locator(".designation").inner_text() == "SC-001"
    assert page.evaluate("window.__noReload") is True


def test_an_approval_and_a_cancel_elsewhere_update_the_command_row_live(
    live_server_daphne, owner_token, watcher, critical_next_contact_command, sc_a, browser_page
):
    """A third operator watches the queue while the author's critical next-contact command is
    approved and then canceled by someone else: the row's state and buttons follow, no reload."""
    command, token = critical_next_contact_command, owner_token
    page, base = browser_page, live_server_daphne
    log_in(page, base, watcher.username, f"/spacecraft/{sc_a.pk}/")
    page.evaluate("window.__noReload = true")
    row = page.locator(f'tr[data-command="{command.pk}"]')
    assert "awaiting approval" in row.locator(".state").inner_text()
    assert row.get_by_role("button", name="Approve").count() == 1

    status, _ = api_post(base, f"/api/v1/commands/{command.pk}/approve/", token, {})
    assert status == 200
    row.get_by_role("button", name="Approve").wait_for(state="detached", timeout=10_000)
    assert row.locator(".state").inner_text() == "queued"
    assert row.locator(".approved-by").inner_text() == "owner"
    assert row.get_by_role("button", name="Cancel").count() == 1  # still queued: it may still be canceled

    status, _ = api_post(base, f"/api/v1/commands/{command.pk}/cancel/", token, {})
    assert status == 200
    row.get_by_role("button", name="Cancel").wait_for(state="detached", timeout=10_000)
    assert row.locator(".state").inner_text() == "canceled"
    assert page.evaluate("window.__noReload") is True
