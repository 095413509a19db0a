"""The telemetry page in real headless Chromium against a real daphne: parameters that appear after
the page loaded, and series answers that arrive out of order."""

import datetime as dt
import json
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from missionops.testing import log_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def api_post(base_url, path, token, body):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def just_now() -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()


@pytest.fixture
def operator_token(operator):
    return Token.objects.create(user=operator).key


@pytest.fixture
def sc_tm(make_spacecraft, org_a):
    return make_spacecraft(
        org_a,
        "SC-TM",
        parameters={
            "bus_v": {"subsystem": "power", "units": "V"},
            "cpu_temp": {"subsystem": "thermal", "units": "degC"},
        },
    )


# Database fixtures come before browser_page: Django refuses synchronous ORM calls under its loop.
def test_a_parameter_first_seen_after_page_load_gets_a_card_and_an_option(
    live_server_daphne, operator, operator_token, sc_tm, browser_page
):
    page, base, token = browser_page, live_server_daphne, operator_token
    api_post(
        base,
        "/api/v1/telemetry/",
        token,
        [{"spacecraft": "SC-TM", "timestamp": just_now(), "parameters": {"bus_v": 28.0}}],
    )
    log_in(page, base, operator.username, f"/telemetry/{sc_tm.pk}/")
    page.wait_for_selector('.tm-card[data-parameter="bus_v"]', timeout=10_000)
    page.evaluate("window.__noReload = true")
    snapshot = {"spacecraft": "SC-TM", "timestamp": just_now(), "parameters": {"bus_v": 28.1, "new_temp": 21.5}}
    api_post(base, "/api/v1/telemetry/", token, [snapshot])
    page.wait_for_selector('.tm-card[data-parameter="new_temp"]', timeout=10_000)
    assert "21.5" in page.locator('.tm-card[data-parameter="new_temp"] .value').inner_text()
    assert "28.1" in page.locator('.tm-card[data-parameter="bus_v"] .value').inner_text()  # the same message
    options = page.eval_on_selector_all("#tm-parameter option", "options => options.map(o => o.value)")
    assert "new_temp" in options and options.count("bus_v") == 1
    assert page.locator("#tm-parameter").input_value() == "bus_v"  # the chart stays on its parameter
    assert page.evaluate("window.__noReload") is True


def test_an_older_series_answer_arriving_last_is_not_drawn(
    live_server_daphne, operator, operator_token, sc_tm, browser_page
):
    page, base, token = browser_page, live_server_daphne, operator_token
    values = {"bus_v": 28.0, "cpu_temp": 40.0}
    api_post(
        base, "/api/v1/telemetry/", token, [{"spacecraft": "SC-TM", "timestamp": just_now(), "parameters": values}]
    )
    held = []

    def hold_the_first_bus_v_answer(route):
        if "parameter=bus_v" in route.request.url and not held:
            held.append((route, route.fetch()))  # answered below, after the newer request's answer
        else:
            route.continue_()

    page.route("**/api/v1/telemetry/series/**", hold_the_first_bus_v_answer)
    log_in(page, base, operator.username, f"/telemetry/{sc_tm.pk}/")
    page.wait_for_selector('.tm-card[data-parameter="cpu_temp"]', timeout=10_000)
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while not held and dt.datetime.now() < deadline:  # bus_v, the first parameter, is selected on load
        page.wait_for_timeout(100)
    assert held
    page.select_option("#tm-parameter", "cpu_temp")
    wait_until(page, "() => document.querySelector('#tm-chart .u-legend')?.textContent.includes('degC')")
    route, response = held[0]
    route.fulfill(response=response)  # the answer for bus_v, asked first, arrives last
    page.wait_for_timeout(1000)
    legend = page.locator("#tm-chart .u-legend").inner_text()
    assert "degC" in legend and "(V)" not in legend


@pytest.fixture
def sc_limited(make_spacecraft, org_a):
    return make_spacecraft(
        org_a,
        "SC-LIM",
        parameters={
            "bus_v": {
                "subsystem": "power",
                "units": "V",
                **{"warn_low": 26, "warn_high": 30, "crit_low": 24, "crit_high": 32},
            },
            "cpu_temp": {"subsystem": "thermal", "units": "degC"},
        },
    )


def test_limits_shade_the_chart_and_compared_parameters_stack_under_it(
    live_server_daphne, operator, operator_token, sc_limited, browser_page
):
    sc = sc_limited
    page, base, token = browser_page, live_server_daphne, operator_token
    now = dt.datetime.now(dt.UTC)
    snapshots = [
        {
            "spacecraft": "SC-LIM",
            "timestamp": (now - dt.timedelta(seconds=60 - i)).isoformat(),
            "parameters": {"bus_v": 28.0 + 0.01 * i, "cpu_temp": 40.0 + 0.1 * i},
        }
        for i in range(50)
    ]
    assert api_post(base, "/api/v1/telemetry/", token, snapshots)[0] == 200
    log_in(page, base, operator.username, f"/telemetry/{sc.pk}/")
    wait_until(page, "() => document.querySelector('#tm-chart .u-legend')?.textContent.includes('(V)')")
    # The y range holds the warning limits (26…30 V) though every value lies within 28.0–28.5 V.
    y = page.evaluate("() => { const s = MissionOpsTelemetry.charts().main.scales.y; return [s.min, s.max]; }")
    assert y[0] < 26 and y[1] > 30, y

    page.select_option("#tm-compare", ["cpu_temp"])
    wait_until(page, "() => document.querySelector('#tm-compare-charts .u-legend')?.textContent.includes('cpu_temp')")
    assert page.locator("#tm-compare-charts .uplot").count() == 1
    # One cursor: both charts share the sync key.
    keys = page.evaluate(
        "() => { const c = MissionOpsTelemetry.charts();"
        " return [c.main.cursor.sync.key, c.compared.cpu_temp.cursor.sync.key]; }"
    )
    assert keys[0] == keys[1]
    page.select_option("#tm-compare", [])
    wait_until(page, "() => !document.querySelector('#tm-compare-charts .uplot')")
