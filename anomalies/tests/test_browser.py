"""The alarm console and the chart shading in real headless Chromium against a real daphne: a
refresh after the session expired keeps the rows (it put the login page into the table), and the
chart asks for the episodes overlapping its range (it asked for the oldest 500)."""

import datetime as dt
import json
import urllib.request

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from anomalies.models import Anomaly
from missionops.testing import log_in
from telemetry.models import ParameterDefinition

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def ingest(base_url, token, snapshots):
    request = urllib.request.Request(
        base_url + "/api/v1/telemetry/",
        data=json.dumps(snapshots).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


@pytest.fixture
def operator_token(operator):
    return Token.objects.create(user=operator).key


@pytest.fixture
def long_history(limited):
    """501 cleared episodes a month ago, one still active since two days, one ten minutes ago."""
    now = timezone.now().replace(microsecond=0)
    definition, _ = ParameterDefinition.objects.get_or_create(
        spacecraft=limited, name="bus_voltage", defaults={"type": "float", "subsystem": "power"}
    )

    def episode(started_at, cleared_at):
        return Anomaly(
            organization_id=limited.organization_id,
            spacecraft=limited,
            parameter=definition,
            parameter_name="bus_voltage",
            detector="limit",
            threshold="warn_high",
            message="bus_voltage violated warn_high",
            started_at=started_at,
            detected_at=started_at,
            last_seen_at=cleared_at or started_at,
            cleared_at=cleared_at,
            closed_at=cleared_at,  # back to normal and acknowledged: history
        )

    long_ago = now - dt.timedelta(days=30)
    history = [
        episode(long_ago + dt.timedelta(minutes=i), long_ago + dt.timedelta(minutes=i, seconds=30)) for i in range(501)
    ]
    still_active = episode(now - dt.timedelta(days=2), None)
    recent = episode(now - dt.timedelta(minutes=10), now - dt.timedelta(minutes=9))
    Anomaly.objects.bulk_create([*history, still_active, recent])
    return now, still_active, recent


# Database fixtures come before browser_page: Playwright's sync API runs an event loop, and
# Django refuses synchronous ORM calls while one is running.
def test_console_keeps_its_rows_when_a_refresh_meets_an_expired_session(
    live_server_daphne, operator, operator_token, alarm, limited, browser_page
):
    page, base, token = browser_page, live_server_daphne, operator_token
    log_in(page, base, operator.username, "/alarms/")
    page.wait_for_selector(f'tr.alarm[data-id="{alarm.pk}"]')
    page.context.clear_cookies()  # the session is gone; the live socket stays open
    moment = (timezone.now() - dt.timedelta(seconds=1)).isoformat()
    snapshot = {"spacecraft": str(limited.pk), "timestamp": moment, "parameters": {"battery_temp": 50.0}}
    assert ingest(base, token, [snapshot]) == 200
    # The new alarm's live message makes the console refresh; the answer is the login page.
    page.locator("#alarm-result.error", has_text="could not refresh").wait_for(timeout=10_000)
    assert page.locator(f'tr.alarm[data-id="{alarm.pk}"]').count() == 1
    assert page.locator("#alarm-rows input[name=password]").count() == 0
    assert page.locator("input[name=password]").count() == 0


def test_chart_shading_gets_the_episodes_overlapping_its_range(
    live_server_daphne, operator, limited, long_history, browser_page
):
    page, base = browser_page, live_server_daphne
    now, still_active, recent = long_history
    log_in(page, base, operator.username, f"/telemetry/{limited.pk}/")
    found = page.evaluate(
        "([sc, min, max]) => MissionOpsAnomalies.fetchEpisodes(sc, 'bus_voltage', min, max)",
        [str(limited.pk), (now - dt.timedelta(hours=1)).timestamp(), now.timestamp()],
    )
    assert sorted((e["start"], e["end"]) for e in found) == [
        (still_active.started_at.timestamp(), None),
        (recent.started_at.timestamp(), recent.cleared_at.timestamp()),
    ]
