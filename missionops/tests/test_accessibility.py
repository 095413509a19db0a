"""WCAG 2.1 AA on every page of the navigation, as each role, in Debian's Chromium: axe-core (from
npm, vendored by `make assets`) finds no serious or critical violation; the pages work from the
keyboard (skip link, menu button) and at 1024 px and on a 390 px phone (no sideways scrolling of
the page: wide tables scroll inside their own box)."""

import time
from pathlib import Path

import pytest

from missionops.testing import log_in
from missionops.tests.test_dashboard_tour import demo_pages, open_alarms, operators_only

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"
# Swagger UI's and ReDoc's own markup (nested interactive controls, small grey labels) is upstream's;
# our theme darkens them, and the admin and every page of ours are checked.
NOT_OURS = ("/api/docs/", "/api/redoc/")
RUN_AXE = """async () => {
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def demo_site(transactional_db):
    from django.core.management import call_command

    if not AXE.exists():
        pytest.fail("axe-core is missing: `make assets` copies it from node_modules into static/vendor")
    call_command("seed_demo", "--minutes", "5", stdout=open("/dev/null", "w"))  # noqa: SIM115
    open_alarms()
    return demo_pages()


def axe_violations(page) -> list[str]:
    page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    return page.evaluate(RUN_AXE)


@pytest.mark.timeout(1200)  # some 35 pages, each loaded to network idle and analysed
@pytest.mark.parametrize(("username", "staff"), [("demo", True), ("operator", False), ("viewer", False)])
def test_no_serious_axe_violation_on_any_page_as_each_role(
    live_server_daphne, demo_site, browser_page, username, staff
):
    from console.management.commands.seed_demo import DEMO_PASSWORD

    page, base = browser_page, live_server_daphne
    log_in(page, base, username, password=DEMO_PASSWORD)
    found = []
    for path in ["/", *demo_site]:
        if path in NOT_OURS or (path.startswith("/admin/") and not staff):
            continue
        response = page.goto(f"{base}{path}", wait_until="networkidle", timeout=20_000)
        if username == "viewer" and operators_only(path):
            assert response is not None and response.status == 403, f"{path}: {response and response.status}"
            continue
        assert response is not None and response.status in (200, 503), f"{path}: {response and response.status}"
        if "text/html" not in response.headers.get("content-type", ""):
            continue  # /health/ answers JSON
        found.extend(f"{username} {path}: {v}" for v in axe_violations(page))
    assert found == [], "\n".join(found)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("width", [1024, 390])
def test_pages_fit_the_screen(live_server_daphne, demo_site, browser_page, width):
    from console.management.commands.seed_demo import DEMO_PASSWORD

    page, base = browser_page, live_server_daphne
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, base, "demo", password=DEMO_PASSWORD, path="/")
    wide = []
    for path in ["/", *demo_site]:
        if path.startswith(("/admin/", "/api/", "/health/")):
            continue
        page.goto(f"{base}{path}", wait_until="networkidle", timeout=20_000)
        if page.evaluate(PAGE_WIDTH) > 1:
            wide.append(f"{path}: the page scrolls sideways by {page.evaluate(PAGE_WIDTH)} px at {width} px")
        nav_height = page.locator(".areas").bounding_box()
        if width == 1024:
            assert nav_height is not None and nav_height["height"] < 40, f"{path}: the navigation wraps at 1024 px"
    assert wide == [], "\n".join(wide)


def test_keyboard_skip_link_and_phone_menu(live_server_daphne, demo_site, browser_page):
    from console.management.commands.seed_demo import DEMO_PASSWORD

    page, base = browser_page, live_server_daphne
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, base, "operator", password=DEMO_PASSWORD, path="/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert not page.locator("#areas").is_visible()
    page.focus(".nav-toggle")
    page.keyboard.press("Enter")
    assert page.locator("#areas").is_visible()
    assert page.get_attribute(".nav-toggle", "aria-expanded") == "true"
    page.locator("#areas a", has_text="Events").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/events/")


@pytest.fixture
def forty(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", "--fleet-size", "40", "--minutes", "3", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_overview_with_forty_spacecraft(live_server_daphne, forty, browser_page):
    from console.management.commands.seed_demo import DEMO_PASSWORD

    page, base = browser_page, live_server_daphne
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    log_in(page, base, "viewer", password=DEMO_PASSWORD, path="/")
    assert page.locator(".tile").count() == 40
    assert page.locator(".counters .counter").first.inner_text().startswith("40")
    assert page.locator("#tiles .tile svg.spark").count() > 0
    clock = page.inner_text("#utc-clock")
    time.sleep(1.5)  # the header clock ticks every second (a string predicate would need eval: CSP)
    assert page.inner_text("#utc-clock") != clock
    assert errors == []
