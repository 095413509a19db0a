"""The job page in real headless Chromium against a real daphne: it reloads once when the job it
shows succeeds (for the quick-look and result), and never on its own for a job already finished."""

import time

import pytest

from jobs.services import dispatch
from missionops.testing import in_thread, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def stays_loaded(page, seconds: float) -> bool:
    """Whether the page is still the same document after `seconds` (a reload drops the marker)."""
    page.evaluate("window.__sameDocument = true")
    time.sleep(seconds)
    return page.evaluate("window.__sameDocument === true")


@pytest.fixture
def finished_and_running(submit, claimer):
    finished, running = submit(kind="noop"), submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer, limit=2)
    dispatch.complete_job(job_id=finished.pk, worker=claimer.worker, result={"ok": 1})
    return finished, running


# Database fixtures come before browser_page (see its docstring).
def test_job_page_reloads_once_on_success_and_never_for_a_finished_job(
    live_server_daphne, operator, claimer, finished_and_running, browser_page
):
    finished, running = finished_and_running
    page, base = browser_page, live_server_daphne
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("response", lambda response: response.status >= 400 and errors.append(f"{response.status} {response.url}"))

    # Already succeeded: the page polls once its socket is live, and must not load itself again.
    log_in(page, base, operator.username, f"/jobs/{finished.pk}/")
    assert page.inner_text("#job-state") == "succeeded"
    assert stays_loaded(page, 2.5)

    # Succeeds while watched: one reload shows the result, then the page stays.
    page.goto(f"{base}/jobs/{running.pk}/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    assert page.inner_text("#job-state") == "running"
    assert page.is_visible('[data-action="cancel"]') and not page.is_visible('[data-action="retry"]')
    with page.expect_navigation(timeout=10_000):  # the reload
        in_thread(dispatch.complete_job, job_id=running.pk, worker=claimer.worker, result={"answer": 42})
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    assert page.inner_text("#job-state") == "succeeded"
    assert "42" in page.inner_text("body")  # the result, rendered by the reload
    assert page.inner_text("#job-finished") != "—"
    assert not page.is_visible('[data-action="cancel"]') and not page.is_visible('[data-action="retry"]')
    assert stays_loaded(page, 2.5)
    assert errors == []  # no script error, no failed request (the favicon included)


def test_job_page_offers_retry_live_when_a_watched_job_fails(
    live_server_daphne, operator, claimer, one_running, browser_page
):
    """The buttons follow the state the live message carries (no reload for a failure)."""
    from playwright.sync_api import expect

    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, f"/jobs/{one_running.pk}/")
    expect(page.locator('[data-action="cancel"]')).to_be_visible()
    expect(page.locator('[data-action="retry"]')).to_be_hidden()
    page.evaluate("window.__sameDocument = true")
    in_thread(dispatch.fail_job, job_id=one_running.pk, worker=claimer.worker, error="boom", permanent=True)
    expect(page.locator("#job-state")).to_have_text("failed", timeout=10_000)
    expect(page.locator('[data-action="retry"]')).to_be_visible()
    expect(page.locator('[data-action="cancel"]')).to_be_hidden()
    expect(page.locator("#job-error")).to_have_text("boom")  # the error too, not only the state
    assert page.evaluate("window.__sameDocument === true")  # shown live, not by a reload
    # And it stays: the page's catch-up fetch, in flight since it subscribed, read the job before
    # it failed and must not put the old state back when it answers.
    time.sleep(2)
    assert page.inner_text("#job-state") == "failed"
    # Retried from the page: queued again, and the old error is gone.
    page.locator('[data-action="retry"]').click()
    expect(page.locator("#job-state")).to_have_text("queued", timeout=10_000)
    expect(page.locator("#job-error")).to_be_hidden()


# Runs in the page before its own scripts: records, at the moment the page says "live", which
# topics it had asked for and which the server had answered by then.
RECORD_SUBSCRIPTIONS = """
(() => {
  const asked = new Set(), answered = new Set();
  window.__atLive = null;
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    const send = socket.send.bind(socket);
    socket.send = (data) => { (JSON.parse(data).topics || []).forEach((t) => asked.add(t)); send(data); };
    socket.addEventListener("message", (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "subscribed" || msg.type === "refused") answered.add(msg.topic);
    });
    return socket;
  };
  window.WebSocket.OPEN = Native.OPEN;
  document.addEventListener("missionops:live-state", (event) => {
    if (event.detail === "live" && !window.__atLive) window.__atLive = {asked: [...asked], answered: [...answered]};
  });
})();
"""


def test_a_page_says_live_only_once_the_server_has_joined_its_topics(
    live_server_daphne, operator, one_running, browser_page
):
    """ "live" promises that every change from then on arrives: a change made after the socket
    opened but before the server joined the topic's group would otherwise be lost for good (the
    catch-up fetch, run at open, had already read the old state)."""
    page, base = browser_page, live_server_daphne
    page.add_init_script(RECORD_SUBSCRIPTIONS)
    log_in(page, base, operator.username, f"/jobs/{one_running.pk}/")  # returns once the page says live
    at_live = page.evaluate("window.__atLive")
    assert f"job.{one_running.pk}" in at_live["asked"]
    assert set(at_live["asked"]) <= set(at_live["answered"]), at_live


@pytest.fixture
def one_running(submit, claimer):
    job = submit(kind="noop")
    dispatch.claim_jobs(claimer=claimer)
    return job


def test_queue_counts_follow_the_queue_and_new_jobs_are_announced(
    live_server_daphne, operator, owner, claimer, one_running, browser_page
):
    from playwright.sync_api import expect

    from jobs.services import submit_job

    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, "/jobs/")
    expect(page.locator('[data-count="running"]')).to_have_text("1")
    in_thread(dispatch.complete_job, job_id=one_running.pk, worker=claimer.worker, result={})
    expect(page.locator('[data-count="succeeded"]')).to_have_text("1", timeout=10_000)
    expect(page.locator('[data-count="running"]')).to_have_text("0")
    assert page.locator("#new-jobs").is_hidden()

    in_thread(submit_job, organization=one_running.organization, actor=owner, kind="noop", params={})
    expect(page.locator("#new-jobs")).to_have_text("1 new job since this page loaded: show", timeout=10_000)
    expect(page.locator('[data-count="queued"]')).to_have_text("1", timeout=10_000)
    page.click("#new-jobs")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    assert page.locator("#new-jobs").is_hidden() and page.locator('tr[id^="job-"]').count() == 2


@pytest.fixture
def tile_across_the_antimeridian(submit):
    """As in the demo: a tile in the Alps and one over Fiji, across 180°."""
    submit(kind="tile")  # conftest's SQUARE, in the Alps
    fiji = [[[178.0, -18.0], [-178.0, -18.0], [-178.0, -16.0], [178.0, -16.0], [178.0, -18.0]]]
    return submit(kind="tile", footprint={"type": "Polygon", "coordinates": fiji})


def test_footprint_map_draws_land_and_a_footprint_across_the_antimeridian(
    live_server_daphne, operator, tile_across_the_antimeridian, browser_page
):
    """The map draws the land and both footprints, the one across 180° included, and the page goes on
    answering. (The land rings world-atlas stitches across 180° are unwrapped first: drawn as they
    came they made a band across the map, and against the demo database the page stopped
    responding, which this test database does not reproduce.)"""
    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, "/jobs/")
    page.wait_for_selector(".leaflet-control-zoom-out", timeout=10_000)
    # The land (one multipolygon) and the two footprints; the map fitted around both.
    deadline = time.monotonic() + 10
    while page.locator("#footprint-map path").count() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert page.locator("#footprint-map path").count() >= 3
    assert stays_loaded(page, 1)  # and the page still answers


def shift_drag(page, start: tuple[float, float], end: tuple[float, float]) -> str:
    """Shift-drag on the footprint map from `start` to `end` (fractions of its box); the bbox
    filter it submits, as the URL gives it."""
    box = page.locator("#footprint-map").bounding_box()
    x0, y0 = box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"]
    x1, y1 = box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"]
    page.keyboard.down("Shift")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    with page.expect_navigation():
        page.mouse.up()
    page.keyboard.up("Shift")
    return page.evaluate("new URL(location.href).searchParams.get('bbox')")


def test_a_shift_drag_sets_the_bbox_filter_and_a_box_wider_than_the_world_is_every_longitude(
    live_server_daphne, operator, tile_across_the_antimeridian, browser_page
):
    page, base = browser_page, live_server_daphne
    page.set_viewport_size({"width": 1600, "height": 900})
    log_in(page, base, operator.username, "/jobs/")
    page.wait_for_selector(".leaflet-control-zoom-out", timeout=10_000)
    # Zoomed all the way out the map repeats the world several times across its width.
    zoom_out = page.locator(".leaflet-control-zoom-out")
    while "leaflet-disabled" not in (zoom_out.get_attribute("class") or ""):
        zoom_out.click()
        time.sleep(0.3)
    west, south, east, north = (float(v) for v in shift_drag(page, (0.02, 0.3), (0.98, 0.7)).split(","))
    assert (west, east) == (-180.0, 180.0)
    assert -90 <= south < north <= 90
    # A small box keeps its own longitudes, west before east.
    page.wait_for_selector(".leaflet-control-zoom-out", timeout=10_000)
    west, south, east, north = (float(v) for v in shift_drag(page, (0.45, 0.4), (0.55, 0.6)).split(","))
    assert -180 <= west < east <= 180 and east - west < 180
    assert south < north


@pytest.fixture
def job_named_like_markup(submit):
    return submit(kind="tile", name='<img src=x onerror="window.__xss=1">')


def test_a_footprints_tooltip_shows_the_job_name_as_text(
    live_server_daphne, operator, job_named_like_markup, browser_page
):
    page, base = browser_page, live_server_daphne
    log_in(page, base, operator.username, "/jobs/")
    footprint = page.locator('#footprint-map path[stroke="#ffb347"]')  # a queued job's footprint
    footprint.wait_for(timeout=10_000)
    footprint.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(timeout=5_000)
    assert tooltip.inner_text() == '<img src=x onerror="window.__xss=1"> · queued'
    assert page.evaluate("window.__xss") is None
