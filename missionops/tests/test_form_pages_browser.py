"""Every workflow form in real headless Chromium against a real daphne: the happy path
creates the object (checked in the database), and one bad input draws its error next to the field
it names (in the field's own label, fieldset or cell) and creates nothing; no page logs a script
error on the way."""

import datetime as dt
import json

import pytest

from missionops.testing import in_thread, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Is the error element visible, in the same label, fieldset or table cell as the field, and right
# below or beside it (not in a banner at the top of the page)?
NEXT_TO_FIELD = """([fieldId, errorId]) => {
  const field = document.getElementById(fieldId), error = document.getElementById(errorId);
  if (!field || !error || !error.offsetParent) return `missing or hidden: ${fieldId} / ${errorId}`;
  const box = (el) => el.closest("label, fieldset, td");
  if (box(field) === null || box(field) !== box(error)) return "not in the field's label, fieldset or cell";
  const f = field.getBoundingClientRect(), e = error.getBoundingClientRect();
  return e.top - f.bottom < 120 && f.top - e.bottom < 120 ? "" : "far from the field";
}"""


def assert_error_next_to(page, field_id: str, text: str, error_id: str | None = None) -> None:
    error_id = error_id or f"{field_id}-error"
    page.wait_for_selector(f"#{error_id}", timeout=10_000)  # on the page the submit loads, not the old one
    problem = page.evaluate(NEXT_TO_FIELD, [field_id, error_id])
    assert problem == "", f"#{error_id}: {problem}"
    assert text in page.inner_text(f"#{error_id}")


@pytest.fixture
def form_page(live_server_daphne, browser_page):
    """The browser page, failing the test on any script error it logs."""
    errors = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield browser_page
    assert errors == []


def sign_in(page, base, user, path):
    log_in(page, base, user.username, path)


@pytest.fixture
def iss(make_spacecraft, org_a):
    return make_spacecraft(org_a, "ISS", norad_id=25544)


def test_element_set_import_with_preview(live_server_daphne, iss, operator, form_page):
    from orbits.models import TLE
    from orbits.tests.conftest import ISS_TLE

    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, "/orbits/element-sets/")
    page.click("#tle-preview")
    assert_error_next_to(page, "id_text", "paste element sets or choose a file")
    broken = ISS_TLE.replace("0  2927", "0  2928")
    page.fill("#id_text", broken)
    page.click("#tle-preview")
    assert "line 2 column 69" in page.inner_text("#tle-preview-result .refused")
    page.fill("#id_text", ISS_TLE)
    page.click("#tle-preview")
    assert "new current set" in page.inner_text("#tle-preview-result")
    assert in_thread(TLE.objects.count) == 0  # a preview stores nothing
    page.click("#tle-import")
    assert "1 imported" in page.inner_text("#tle-report")
    assert in_thread(lambda: TLE.objects.filter(spacecraft__designation="ISS").count()) == 1


def test_ground_station(live_server_daphne, org_a, owner, form_page):
    from orbits.models import GroundStation

    page, base = form_page, live_server_daphne
    sign_in(page, base, owner, "/orbits/stations/")
    values = {"name": "Kiruna", "latitude_deg": "95", "longitude_deg": "20.96", "altitude_m": "400"}
    for name, value in values.items():
        page.fill(f"#id_{name}", value)
    page.click("#station-form button[type=submit]")
    assert_error_next_to(page, "id_latitude_deg", "latitude_deg must be between -90 and 90")
    assert in_thread(GroundStation.objects.count) == 0
    page.fill("#id_latitude_deg", "67.86")
    page.click("#station-form button[type=submit]")
    page.wait_for_url(f"{base}/orbits/stations/")
    assert "ground station Kiruna added" in page.inner_text(".messages")
    assert in_thread(lambda: GroundStation.objects.get(organization=org_a).latitude_deg) == 67.86


@pytest.fixture
def upcoming_pass(sc_a):
    from django.utils import timezone

    from orbits.services import create_station
    from orbits.tests.conftest import stored_pass

    station = create_station(
        organization=sc_a.organization, name="Wallops", latitude_deg=37.94, longitude_deg=-75.47, min_elevation_deg=5
    )
    return stored_pass(sc_a, station, timezone.now() + dt.timedelta(hours=1))


def test_contact_plan(live_server_daphne, sc_a, upcoming_pass, operator, form_page):
    from orbits.models import Contact

    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, "/orbits/contact-plans/new/")
    page.check(f"#id_include_{sc_a.pk}")
    start = page.input_value("#id_start")
    page.fill("#id_end", start)  # an empty window
    with page.expect_navigation():  # the answer is a new page: wait for it, not for the old one's field
        page.click("#build-plan")
    assert_error_next_to(page, "id_end", "end must be after start")
    page.fill(f"#id_volume_mbit_{sc_a.pk}", "-1")
    page.fill("#id_end", (dt.datetime.fromisoformat(start) + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        page.click("#build-plan")
    assert_error_next_to(page, f"id_volume_mbit_{sc_a.pk}", "greater than or equal to 0.001")
    assert in_thread(Contact.objects.count) == 0
    page.fill(f"#id_volume_mbit_{sc_a.pk}", "10")
    page.click("#build-plan")
    page.wait_for_url(f"{base}/orbits/passes/")
    assert "contact plan #" in page.inner_text(".messages")
    assert in_thread(lambda: Contact.objects.get().station_id) == upcoming_pass.station_id


@pytest.fixture
def picks(make_spacecraft, org_a, upcoming_pass):
    """Beside sc_a's upcoming pass over Wallops: another spacecraft's pass there an hour later, and
    a third spacecraft's pass clashing with that one on the same station."""
    from orbits.tests.conftest import stored_pass

    later = stored_pass(
        make_spacecraft(org_a, "SC-LATER"), upcoming_pass.station, upcoming_pass.aos + dt.timedelta(hours=1)
    )
    clash = stored_pass(make_spacecraft(org_a, "SC-CLASH"), upcoming_pass.station, later.aos + dt.timedelta(minutes=5))
    return upcoming_pass, later, clash


def test_contact_plan_picked_on_the_timeline(live_server_daphne, picks, operator, form_page):
    from missionops.tests.test_accessibility import axe_violations
    from orbits.models import Contact

    page, base = form_page, live_server_daphne
    first, later, clash = picks
    sign_in(page, base, operator, "/orbits/passes/")
    page.click('#tl-zoom button[data-span="6"]')
    bar = lambda p: f'.tl-pass[data-pass="{p.pk}"]'  # noqa: E731
    page.wait_for_selector(bar(clash))
    page.click(bar(first))  # by mouse
    assert page.get_attribute(bar(first), "aria-pressed") == "true"
    assert "Wallops" in page.inner_text("#pick-list") and "max. el. 40.0°" in page.inner_text("#pick-list")
    page.focus(bar(later))  # by keyboard
    page.keyboard.press("Space")
    page.focus(bar(clash))
    page.keyboard.press("Enter")
    assert page.locator("#pick-list li").count() == 3
    assert "overlaps SC-LATER on Wallops" in page.inner_text(f'#pick-list li[data-pass="{clash.pk}"]')
    assert "tl-conflict" in page.get_attribute(bar(later), "class") and page.is_disabled("#create-plan")
    assert axe_violations(page) == []  # picked and clashing bars, and the panel, as well
    page.focus(bar(clash))
    page.keyboard.press("Enter")  # unpicked again
    assert page.get_attribute(bar(clash), "aria-pressed") == "false" and page.inner_text("#pick-conflicts") == ""
    page.click("#create-plan")
    page.wait_for_url(f"{base}/orbits/passes/")
    assert "2 contacts from the passes picked" in page.inner_text(".messages")
    assert sorted(in_thread(lambda: list(Contact.objects.values_list("pass_ref_id", flat=True)))) == [
        first.pk,
        later.pk,
    ]
    page.wait_for_selector(".tl-contact")
    assert page.locator(".tl-contact").count() == 2


def test_job_submission(live_server_daphne, org_a, operator, form_page):
    from jobs.models import Job

    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, "/jobs/new/")
    page.fill("#id_name", "alps")
    page.select_option("#id_kind", "tile")
    page.fill("#id_params", "{nope")
    page.fill("#submit-bbox", "7,45,8,46")
    page.click("#submit-job")
    assert_error_next_to(page, "id_params", "not JSON: line 1 column 2")
    assert in_thread(Job.objects.count) == 0
    page.fill("#id_params", "{}")
    page.click("#submit-job")
    page.wait_for_url(f"{base}/jobs/*/")
    job = in_thread(lambda: Job.objects.get(organization=org_a))
    assert job.name == "alps" and job.footprint["coordinates"][0][0] == [7.0, 45.0]
    assert page.url == f"{base}/jobs/{job.pk}/"


def test_mode_change(live_server_daphne, sc_a, operator, form_page):
    from spacecraft.models import Spacecraft
    from spacecraft.services import update_state

    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, f"/spacecraft/{sc_a.pk}/")
    page.select_option("#id_mode", "standby")
    page.fill("#id_reason", "pass prep")
    page.click("#mode-form button[type=submit]")
    page.wait_for_url(f"{base}/spacecraft/{sc_a.pk}/")
    assert "now in standby mode" in page.inner_text(".messages")
    assert in_thread(lambda: Spacecraft.objects.get(pk=sc_a.pk).mode) == "standby"
    in_thread(update_state, spacecraft=sc_a, battery_soc_pct=5.0)  # survival: nominal is refused
    page.reload()
    page.select_option("#id_mode", "nominal")
    page.click("#mode-form button[type=submit]")
    assert_error_next_to(page, "id_mode", "cannot enter nominal")
    assert in_thread(lambda: Spacecraft.objects.get(pk=sc_a.pk).mode) == "survival"


def test_configuration_edit_with_diff_preview(live_server_daphne, sc_a, operator, form_page):
    from spacecraft.models import ConfigVersion

    parameters = in_thread(lambda: sc_a.current_config.parameters)
    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, f"/spacecraft/{sc_a.pk}/config/")
    page.fill("#id_parameters", "{nope")
    page.click("#preview-config")
    assert_error_next_to(page, "id_parameters", "not JSON")
    parameters["bus_voltage"]["warn_high"] = 29.0
    page.fill("#id_parameters", json.dumps(parameters, indent=2))
    page.fill("#id_note", "tighter bus")
    page.click("#preview-config")
    assert "warn_high" in page.inner_text(".diff")
    assert in_thread(lambda: ConfigVersion.objects.filter(spacecraft=sc_a).count()) == 1  # the preview saves nothing
    page.click("#save-config")
    page.wait_for_url(f"{base}/spacecraft/{sc_a.pk}/")
    assert "configuration v2 saved" in page.inner_text(".messages")
    saved = in_thread(lambda: ConfigVersion.objects.get(spacecraft=sc_a, version=2))
    assert saved.note == "tighter bus" and saved.parameters["bus_voltage"]["warn_high"] == 29.0


def test_document_with_attachment(live_server_daphne, sc_a, operator, form_page):
    from pathlib import Path

    from spacecraft.models import Document

    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, "/documents/new/")
    page.fill("#id_body", "# Pass checklist\n\n1. Unpark")
    page.click("#document-form button[type=submit]")
    assert_error_next_to(page, "id_title", "This field is required")
    assert in_thread(Document.objects.count) == 0
    page.fill("#id_title", "Pass checklist")
    page.set_input_files(
        "#id_attachment", files=[{"name": "steps.txt", "mimeType": "text/plain", "buffer": b"unpark, slew, expose\n"}]
    )
    page.click("#document-form button[type=submit]")
    page.wait_for_url(f"{base}/documents/*/")
    document = in_thread(lambda: Document.objects.get(title="Pass checklist"))
    attachment = in_thread(lambda: document.attachments.get())
    Path(attachment.file.path).unlink()  # daphne stored it under MEDIA_ROOT
    assert attachment.name == "steps.txt" and attachment.size_bytes == 21
    assert "steps.txt" in page.content() and "Pass checklist" in page.inner_text("h1")


@pytest.fixture
def observatory_with_pass(make_spacecraft, org_a):
    """An observatory with a telescope and a camera (rows: a session starts without talking to them)
    and a spacecraft with an element set that passes over it within a day."""
    from orbits.services import import_tles
    from telescopes.models import AlpacaDevice, DeviceType
    from telescopes.services import create_observatory
    from telescopes.tests.test_tracking import LINE1, LINE2

    observatory = create_observatory(
        organization=org_a, name="Sim Observatory", latitude_deg=48.0, longitude_deg=8.0, horizon_limit_deg=10.0
    )
    for kind in (DeviceType.TELESCOPE, DeviceType.CAMERA):
        AlpacaDevice.objects.create(observatory=observatory, device_type=kind, host="127.0.0.1", port=11111)
    spacecraft = make_spacecraft(org_a, "AUR-1", norad_id=39634)
    assert import_tles(organization=org_a, text=f"AURORA-1\n{LINE1}\n{LINE2}\n").imported
    return observatory, spacecraft


def test_observation_session_from_a_pass(live_server_daphne, observatory_with_pass, operator, form_page):
    from telescopes.models import ObservationSession

    observatory, spacecraft = observatory_with_pass
    page, base = form_page, live_server_daphne
    sign_in(page, base, operator, "/telescopes/")
    page.click("#new-session")
    page.wait_for_url(f"{base}/telescopes/sessions/new/")
    page.select_option("#id_observatory", str(observatory.pk))
    page.select_option("#id_spacecraft", str(spacecraft.pk))
    page.click("#show-passes")
    page.fill("#id_exposure_every_s", "10")
    page.fill("#id_exposure_s", "0")
    page.check("#id_pass_tca_0")
    page.select_option("#id_camera", index=1)
    page.click("#start-session")
    assert_error_next_to(page, "id_exposure_s", "exposure_s must be more than 0")
    assert in_thread(ObservationSession.objects.count) == 0
    page.fill("#id_exposure_s", "0.5")
    page.check("#id_pass_tca_0")
    page.click("#start-session")
    page.wait_for_url(f"{base}/telescopes/sessions/*/")
    session = in_thread(lambda: ObservationSession.objects.select_related("spacecraft").get())
    assert session.spacecraft == spacecraft and session.exposure_every_s == 10.0 and session.camera_id is not None
    assert f"observation session {session.pk} scheduled" in page.inner_text(".messages")
