"""The event log page in real headless Chromium against a real daphne: a live `event` message (the
event as /api/v1/events/ shows it) becomes the newest row."""

import pytest

from missionops.testing import in_thread, log_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_recorded_event_is_prepended_live(live_server_daphne, viewer, sc_a, browser_page):
    from missionops.services import record_event

    page, base = browser_page, live_server_daphne
    log_in(page, base, viewer.username, "/events/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    in_thread(lambda: record_event(organization=sc_a.organization, kind="drill.wire", subject=sc_a, payload={"n": 1}))
    wait_until(page, "document.querySelector('#event-rows tr code')?.textContent === 'drill.wire'")
    row = page.locator("#event-rows tr").first
    assert row.locator("a").text_content() == str(sc_a)  # `subject`
    assert row.locator("a").get_attribute("href") == f"/spacecraft/{sc_a.pk}/"
    assert row.locator("td").first.text_content().endswith("Z")
