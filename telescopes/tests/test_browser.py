"""The telescopes page in real headless Chromium against a real daphne: it draws the live messages
on `telescopes`, which carry the REST representations (a device's `status_text`, an operation's
`kind`, a session's `pointing`)."""

import pytest

from missionops.testing import in_thread, log_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_device_operation_and_session_messages_are_drawn_live(
    live_server_daphne, operator, observatory_records, browser_page
):
    from telescopes.models import SessionStatus
    from telescopes.services import monitoring, operation_records, tracking
    from telescopes.status_text import status_words

    scope, operation, session = observatory_records
    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, "/telescopes/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    status = {"altitude": 45.0, "azimuth": 180.0, "atpark": False}
    in_thread(lambda: monitoring.apply_status(device=scope, level="healthy", detail="wire check", status=status))
    in_thread(lambda: operation_records.finish_operation(operation=operation, status="failed", error="mount refused"))
    in_thread(lambda: tracking._finish(session, SessionStatus.FAILED, error="no pass"))
    wait_until(page, f"document.querySelector('#session-{session.pk} [data-field=status]').textContent === 'failed'")
    device = page.locator(f"#device-{scope.pk}")
    assert "wire check" in device.locator('[data-field="health"]').text_content()
    assert device.locator('[data-field="status"]').text_content() == status_words(status)
    cells = page.locator(f"#op-{operation.pk} td").all_text_contents()
    assert cells[:5] == [str(operation.pk), str(scope.pk), "park", "failed", "mount refused"]
    assert page.locator(f'#session-{session.pk} [data-field="samples"]').text_content() == "0"


def test_the_health_page_draws_device_and_component_messages_live(
    live_server_daphne, operator, observatory_records, browser_page, settings
):
    import time

    from missionops import health
    from telescopes.services import monitoring

    settings.HEALTH_REGISTRY_KEY = None  # the registry daphne reads: the test channel prefix's
    health.heartbeat("wire-check", kind="bridge", interval_s=5, detail="beating")
    scope = observatory_records[0]
    page, base = browser_page, live_server_daphne
    try:
        log_in(page, base, operator.username, "/telescopes/health/")
        page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
        row = page.locator('[data-component="component:wire-check"]')
        assert row.locator('[data-field="status"]').text_content() == "Healthy"
        in_thread(lambda: monitoring.apply_status(device=scope, level="Unhealthy", detail="gone quiet", status={}))
        cell = f"#device-{scope.pk} [data-field=detail]"
        wait_until(page, f"document.querySelector('{cell}').textContent === 'gone quiet'")
        assert page.locator(f'#device-{scope.pk} [data-field="status"]').text_content() == "Unhealthy"
        in_thread(lambda: health.sweep_components(now=time.time() + 20))  # four intervals without a beat
        status = "document.querySelector('[data-component=\"component:wire-check\"] [data-field=status]')"
        wait_until(page, status + ".textContent === 'Unhealthy'")
        assert "missed heartbeat" in row.locator('[data-field="detail"]').text_content()
        log = page.locator("#health-log").inner_text()
        assert "component:wire-check: Healthy → Unhealthy" in log and "→ Unhealthy (gone quiet)" in log
    finally:
        health.deregister("wire-check")
