"""Every dashboard page, on the demo data, in real headless Chromium against a real daphne: each
answers, draws without a script error or a failed request, asks nothing of any other host, has no
text under 3:1 contrast, stays responsive (a script that never returns hangs the page for good),
and goes live where it has a live socket. The demo data is what `make run` shows a first user, the
page's heaviest honest case (a map script that looped on the demo's land rings once hung the jobs
page only there)."""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from missionops.testing import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Text that reads at under 3:1 against what is drawn behind it (WCAG's contrast ratio; 3:1 is its
# floor for large text and controls): each visible element with text of its own, its color against
# its backgrounds blended up the tree. Opacity (dimmed rows) is left out on purpose.
LOW_CONTRAST = r"""
() => {
  const rgba = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(",").map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = [255, 255, 255];
    for (const c of layers.reverse()) base = [0, 1, 2].map((k) => c[k] * c[3] + base[k] * (1 - c[3]));
    return base;
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    if (!own || !el.offsetParent || ["SCRIPT", "STYLE", "OPTION"].includes(el.tagName)) continue;
    const a = luminance(rgba(getComputedStyle(el).color)), b = luminance(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 3) low.push(`${el.tagName.toLowerCase()} "${own.slice(0, 30)}" ${ratio.toFixed(2)}:1`);
  }
  return low;
}
"""


def demo_pages() -> list[str]:
    """The pages to visit (the forms of every workflow too), object pages for the demo's first
    object of each kind."""
    from anomalies.models import Anomaly
    from jobs.models import Job
    from spacecraft.models import Document, Spacecraft
    from telescopes.models import ObservationSession

    spacecraft = Spacecraft.objects.order_by("designation").first()
    pages = [
        "/fleet/",
        f"/spacecraft/{spacecraft.pk}/",
        "/documents/",
        "/telemetry/",
        f"/telemetry/{spacecraft.pk}/",
        f"/spacecraft/{spacecraft.pk}/config/",
        "/documents/new/",
        "/alarms/",
        "/alarms/kpis/",
        "/orbits/",
        "/orbits/passes/",
        "/orbits/conjunctions/",
        "/orbits/stations/",
        "/orbits/element-sets/",
        "/orbits/contact-plans/new/",
        "/jobs/",
        "/jobs/new/",
        "/telescopes/",
        "/telescopes/sessions/new/",
        "/telescopes/health/",
        "/events/",
        "/planning/",
        "/planning/plan/",
        "/webhooks/",
        "/api-keys/",
        "/health/",
        "/admin/",
        "/admin/jobs/job/",
        "/api/docs/",
        "/api/redoc/",
        "/",
    ]
    for model, path in (
        (Document, "/documents/{}/"),
        (Document, "/documents/{}/edit/"),
        (Anomaly, "/alarms/{}/"),
        (Job, "/jobs/{}/"),
        (ObservationSession, "/telescopes/sessions/{}/"),
    ):
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages.append(path.format(first.pk))
    return pages


def operators_only(path: str) -> bool:
    """Pages that answer 403 to a viewer (editing a spacecraft's configuration or a document)."""
    return path.endswith(("/config/", "/edit/"))


@pytest.fixture
def demo(transactional_db):
    """The demo organization, users and fleet, as `make run` seeds them; the pages to visit."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 (closed with the test)
    open_alarms()
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="demo"), demo_pages()


def open_alarms() -> None:
    """A critical and a warning alarm on SC-001, through the real ingest path, so the alarm console
    draws its severity rows (the demo's own alarms come from the live simulator, not run here)."""
    import datetime as dt

    from anomalies.models import Anomaly
    from spacecraft.models import Spacecraft
    from telemetry import services as telemetry

    sc = Spacecraft.objects.get(designation="SC-001")
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    snapshots = [
        {"spacecraft": str(sc.pk), "timestamp": (start + dt.timedelta(seconds=i)).isoformat(),
         "parameters": {"panel_temp": 139.0, "payload_temp": 33.0}}
        for i in range(5)
    ]  # fmt: skip
    telemetry.ingest(snapshots=snapshots, scope=telemetry.organization_scope(sc.organization))
    severities = set(Anomaly.objects.filter(spacecraft=sc).values_list("severity", flat=True))
    assert {"critical", "warning"} <= severities, severities


@pytest.mark.timeout(900)  # some 25 pages to network idle: past pytest.ini's 300 s on a loaded machine
def test_every_dashboard_page_draws_on_the_demo_data(live_server_daphne, demo, browser_page):
    from console.management.commands.seed_demo import DEMO_PASSWORD

    user, pages = demo
    page, base = browser_page, live_server_daphne
    origin = urlsplit(base).netloc
    problems: list[str] = []
    health = f"{base}/health/"  # 503 while something is down: here no Celery worker or beat runs
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not (m.location.get("url") == health and "503" in m.text)
            and problems.append(f"{page.url}: console: {m.text} ({m.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not (r.url == health and r.status == 503)
            and problems.append(f"{page.url}: {r.status} {r.url}")
        ),
    )
    page.on(
        "request",
        lambda r: (
            urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(r.url).netloc != origin
            and problems.append(f"{page.url}: asked another host: {r.url}")
        ),
    )

    log_in(page, base, user.username, password=DEMO_PASSWORD)

    for path in pages:
        response = page.goto(f"{base}{path}", wait_until="load", timeout=20_000)
        expected = (200, 503) if path == "/health/" else (200,)
        assert response is not None and response.status in expected, f"{path}: {response and response.status}"
        if page.locator("#live-status").count():
            page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
        assert responsive(page), f"{path}: the page's scripts never give the browser back"
        if not path.startswith(("/admin/", "/api/")):  # ours only, not Django's admin or Swagger UI
            problems.extend(f"{path}: low contrast: {low}" for low in page.evaluate(LOW_CONTRAST))
    assert problems == [], "\n".join(problems)


def responsive(page, timeout_s: float = 5.0) -> bool:
    """Whether the page still runs a script a second after it loaded. A script looping forever
    blocks every later call into the page, and Playwright's own timeouts then never fire: a
    watchdog ends such a page by killing its renderer, which fails the probe instead of hanging
    the run."""
    from playwright.sync_api import Error

    time.sleep(1)
    answered = threading.Event()
    watchdog = threading.Timer(timeout_s, lambda: answered.is_set() or kill_our_renderers())
    watchdog.start()
    try:
        page.evaluate("1 + 1")
        answered.set()
        return True
    except Error:
        return False
    finally:
        watchdog.cancel()


def kill_our_renderers() -> None:
    """SIGKILL the Chromium renderer processes started under this test process (and only those)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    ours, grew = {os.getpid()}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= children
        grew = bool(children)
    for pid in ours - {os.getpid()}:
        with contextlib.suppress(OSError):
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
