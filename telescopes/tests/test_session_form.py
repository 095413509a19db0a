"""Starting an observation session from the browser: a pass of the spacecraft over the observatory,
the devices and exposure settings checked by the API's service, errors next to the field, other
organizations and viewers kept out."""

import pytest

from telescopes.models import AlpacaDevice, DeviceType, ObservationSession
from telescopes.tests.test_tracking import LINE1, LINE2

pytestmark = pytest.mark.django_db

URL = "/telescopes/sessions/new/"


@pytest.fixture
def tracked(make_spacecraft, org_a):
    from orbits.services import import_tles

    spacecraft = make_spacecraft(org_a, "AUR-1", norad_id=39634)
    assert import_tles(organization=org_a, text=f"AURORA-1\n{LINE1}\n{LINE2}\n").imported
    return spacecraft


@pytest.fixture
def site(observatory):
    """The observatory with a telescope and a camera registered as rows (sessions start without
    talking to them)."""
    rows = {
        kind: AlpacaDevice.objects.create(
            observatory=observatory, device_type=kind, device_number=0, host="127.0.0.1", port=11111
        )
        for kind in (DeviceType.TELESCOPE, DeviceType.CAMERA)
    }
    return observatory, rows


def offered_passes(client, observatory, spacecraft) -> list[str]:
    form = client.post(URL, {"observatory": observatory.pk, "spacecraft": spacecraft.pk, "action": "passes"})
    return list(form.context["form"].fields["pass_tca"].widget.choices)


def session_body(observatory, spacecraft, pass_tca="", **changes):
    return {
        "observatory": observatory.pk,
        "spacecraft": spacecraft.pk,
        "pass_tca": pass_tca,
        "step_s": "2",
        "exposure_every_s": "10",
        "exposure_s": "0.5",
        "action": "start",
        **changes,
    }


def test_operator_starts_a_session_from_a_pass(client, operator, site, tracked):
    observatory, devices = site
    client.force_login(operator)
    page = client.get(URL).content.decode()
    assert "Sim Observatory" in page and "AUR-1" in page and "max " in page  # passes of the defaults listed
    passes = offered_passes(client, observatory, tracked)
    assert passes, "a sun-synchronous LEO passes over 48° N within a day"
    value, label = passes[0]
    body = session_body(observatory, tracked, value, camera=devices[DeviceType.CAMERA].pk)
    response = client.post(URL, body)
    session = ObservationSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/telescopes/sessions/{session.pk}/"
    assert session.telescope == devices[DeviceType.TELESCOPE] and session.camera == devices[DeviceType.CAMERA]
    assert session.spacecraft == tracked and session.created_by == operator
    assert (session.exposure_every_s, session.exposure_s, session.step_s) == (10.0, 0.5, 2.0)
    assert session.start.isoformat()[:19].replace("T", " ") in label or "in progress" in label
    shown = client.get(response["Location"]).content.decode()
    assert f"observation session {session.pk} scheduled" in shown and "AUR-1" in shown


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"exposure_s": "0"}, "exposure_s", "exposure_s must be more than 0"),
        ({"exposure_every_s": "0.1"}, "exposure_every_s", "exposure_every_s must be 0"),
        ({"step_s": "x"}, "step_s", "Enter a number"),
        ({"pass_tca": ""}, "pass_tca", "choose a pass"),
        ({"pass_tca": "2020-01-01T00:00:00+00:00"}, "pass_tca", "not predicted any more"),
    ],
)
def test_bad_input_is_named_next_to_the_field(client, operator, site, tracked, changes, field, message):
    observatory, _ = site
    client.force_login(operator)
    value, _ = offered_passes(client, observatory, tracked)[0]
    body = client.post(URL, session_body(observatory, tracked, **{"pass_tca": value, **changes})).content.decode()
    assert f'id="id_{field}-error"' in body and message in body
    assert not ObservationSession.objects.exists()


def test_a_camera_of_another_observatory_is_refused_by_the_service(client, operator, site, tracked, org_a):
    from telescopes.services import create_observatory

    observatory, _ = site
    elsewhere = create_observatory(organization=org_a, name="Elsewhere", latitude_deg=10, longitude_deg=10)
    camera = AlpacaDevice.objects.create(
        observatory=elsewhere, device_type=DeviceType.CAMERA, device_number=0, host="127.0.0.1", port=11112
    )
    client.force_login(operator)
    value, _ = offered_passes(client, observatory, tracked)[0]
    body = client.post(URL, session_body(observatory, tracked, value, camera=camera.pk)).content.decode()
    assert 'id="id_camera-error"' in body
    assert not ObservationSession.objects.exists()


def test_a_spacecraft_without_element_set_is_named(client, operator, site, make_spacecraft, org_a):
    observatory, _ = site
    bare = make_spacecraft(org_a, "BARE-1")
    client.force_login(operator)
    body = client.post(URL, session_body(observatory, bare, "")).content.decode()
    assert 'id="id_spacecraft-error"' in body and "has no element set" in body
    assert not ObservationSession.objects.exists()


def test_another_organizations_observatory_is_refused(client, operator, site, tracked, org_b):
    from telescopes.services import create_observatory

    observatory, _ = site
    foreign = create_observatory(organization=org_b, name="Foreign Site", latitude_deg=48, longitude_deg=8)
    AlpacaDevice.objects.create(
        observatory=foreign, device_type=DeviceType.TELESCOPE, device_number=0, host="127.0.0.1", port=11113
    )
    client.force_login(operator)
    assert "Foreign Site" not in client.get(URL).content.decode()
    value, _ = offered_passes(client, observatory, tracked)[0]
    body = client.post(URL, session_body(foreign, tracked, value)).content.decode()
    assert 'id="id_observatory-error"' in body and "Select a valid choice" in body
    assert not ObservationSession.objects.exists()


def test_viewers_and_strangers_cannot_start_sessions(client, viewer, stranger, site, tracked):
    observatory, _ = site
    for user in (viewer, stranger):
        client.force_login(user)
        assert "operators and admins" in client.get(URL).content.decode()
        assert client.post(URL, session_body(observatory, tracked, "2026-12-08T00:00:00+00:00")).status_code == 403
    assert not ObservationSession.objects.exists()


def test_the_telescopes_page_links_the_form(client, operator, site):
    client.force_login(operator)
    page = client.get("/telescopes/").content.decode()
    assert URL in page and "POST /api/v1/observation-sessions/" not in page


def test_an_element_set_past_its_age_limit_is_named_and_may_be_allowed(client, operator, site, tracked, settings):
    observatory, _ = site
    settings.ORBITS_ELEMENT_MAX_AGE_DAYS_LEO = 20  # the test's set is about a month old
    client.force_login(operator)
    body = client.post(URL, session_body(observatory, tracked, "")).content.decode()
    error = body.split('id="id_spacecraft-error"')[1][:400]
    assert "past the limit of 20 days" in error, error
    assert not ObservationSession.objects.exists()

    offered = client.post(
        URL, {"observatory": observatory.pk, "spacecraft": tracked.pk, "allow_stale": "on", "action": "passes"}
    ).context["form"]
    passes = list(offered.fields["pass_tca"].widget.choices)
    assert passes
    response = client.post(URL, session_body(observatory, tracked, passes[0][0], allow_stale="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ObservationSession.objects.count() == 1
