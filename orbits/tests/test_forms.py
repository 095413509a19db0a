"""Ground stations and element-set import pages: the API's rules, errors next to the field (a TLE's
line and column), a preview that writes nothing, other organizations and roles kept out."""

import pytest

from orbits.models import TLE, GroundStation
from orbits.tests.conftest import ISS_TLE

STATION = {
    "name": "Kiruna",
    "latitude_deg": "67.857",
    "longitude_deg": "20.964",
    "altitude_m": "400",
    "min_elevation_deg": "5",
    "downlink_rate_bps": "50000000",
}


def test_admin_adds_a_station(client, owner, org_a):
    client.force_login(owner)
    response = client.post("/orbits/stations/", STATION)
    assert response.status_code == 302
    assert GroundStation.objects.get(organization=org_a).name == "Kiruna"
    assert "Kiruna" in client.get("/orbits/stations/").content.decode()


def test_bad_station_values_are_named_next_to_the_field(client, owner, org_a):
    client.force_login(owner)
    body = client.post("/orbits/stations/", {**STATION, "latitude_deg": "95"}).content.decode()
    assert 'id="id_latitude_deg-error"' in body and "latitude_deg must be between -90 and 90" in body
    body = client.post("/orbits/stations/", {**STATION, "downlink_rate_bps": "x"}).content.decode()
    assert 'id="id_downlink_rate_bps-error"' in body
    assert not GroundStation.objects.exists()


def test_duplicate_station_name_is_named(client, owner, station_a):
    client.force_login(owner)
    body = client.post("/orbits/stations/", {**STATION, "name": "Wallops"}).content.decode()
    assert 'id="id_name-error"' in body and "already exists" in body


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_only_admins_add_stations(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post("/orbits/stations/", STATION).status_code == 403
    assert not GroundStation.objects.exists()


def test_stations_of_another_organization_are_not_listed(client, stranger, station_a):
    client.force_login(stranger)
    assert "Wallops" not in client.get("/orbits/stations/").content.decode()


@pytest.fixture
def iss(make_spacecraft, org_a):
    return make_spacecraft(org_a, "ISS", norad_id=25544)


def test_preview_shows_what_an_import_would_do_and_writes_nothing(client, operator, iss):
    client.force_login(operator)
    body = client.post("/orbits/element-sets/", {"text": ISS_TLE, "action": "preview"}).content.decode()
    assert "nothing is stored yet" in body and "new current set" in body and "ISS (ZARYA)" in body
    assert not TLE.objects.exists()
    done = client.post("/orbits/element-sets/", {"text": ISS_TLE, "action": "import"}).content.decode()
    assert "1 imported, 0 unchanged, 0 refused" in done
    assert TLE.objects.filter(spacecraft=iss).count() == 1
    again = client.post("/orbits/element-sets/", {"text": ISS_TLE, "action": "preview"}).content.decode()
    assert "unchanged: this epoch is stored" in again


def test_a_bad_line_is_refused_with_line_and_column(client, operator, iss):
    client.force_login(operator)
    broken = ISS_TLE.replace("0  2927", "0  2928")  # wrong checksum on line 2 of the text
    body = client.post("/orbits/element-sets/", {"text": broken, "action": "preview"}).content.decode()
    assert "line 2 column 69" in body and "checksum" in body


def test_uploaded_file_and_empty_input(client, operator, iss):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(operator)
    upload = SimpleUploadedFile("iss.tle", ISS_TLE.encode(), content_type="text/plain")
    body = client.post("/orbits/element-sets/", {"file": upload, "action": "preview"}).content.decode()
    assert "new current set" in body
    empty = client.post("/orbits/element-sets/", {"text": "  ", "action": "preview"}).content.decode()
    assert 'id="id_text-error"' in empty and "paste element sets or choose a file" in empty


def test_viewers_cannot_import(client, viewer, iss):
    client.force_login(viewer)
    assert client.post("/orbits/element-sets/", {"text": ISS_TLE, "action": "import"}).status_code == 403
    assert not TLE.objects.exists()


def test_import_never_touches_another_organizations_spacecraft(client, stranger, iss):
    client.force_login(stranger)
    body = client.post("/orbits/element-sets/", {"text": ISS_TLE, "action": "import"}).content.decode()
    assert "0 imported" in body and not TLE.objects.exists()


@pytest.fixture
def upcoming_pass(sc_a, station_a):
    import datetime as dt

    from django.utils import timezone

    from .conftest import stored_pass

    return stored_pass(sc_a, station_a, timezone.now() + dt.timedelta(hours=1))


def plan_form(sc, start, end, include=True):
    body = {"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M")}
    body.update({f"priority_{sc.pk}": "5", f"volume_mbit_{sc.pk}": "10"})
    if include:
        body[f"include_{sc.pk}"] = "on"
    return body


def test_operator_builds_a_contact_plan_from_the_passes(client, operator, sc_a, upcoming_pass):
    import datetime as dt

    from orbits.models import Contact

    client.force_login(operator)
    assert "Build plan" in client.get("/orbits/contact-plans/new/").content.decode()
    start = upcoming_pass.aos - dt.timedelta(hours=1)
    response = client.post("/orbits/contact-plans/new/", plan_form(sc_a, start, start + dt.timedelta(hours=4)))
    assert response.status_code == 302 and response["Location"] == "/orbits/passes/"
    contact = Contact.objects.get(spacecraft=sc_a)
    assert contact.station_id == upcoming_pass.station_id
    assert contact.plan.requests[str(sc_a.pk)] == {"priority": 5, "volume_bits": 10_000_000}


def test_contact_plan_errors_are_named_and_nothing_is_built(client, operator, sc_a, upcoming_pass):
    import datetime as dt

    from orbits.models import ContactPlan

    client.force_login(operator)
    start = upcoming_pass.aos
    backwards = client.post("/orbits/contact-plans/new/", plan_form(sc_a, start, start - dt.timedelta(hours=1)))
    assert 'id="id_end-error"' in backwards.content.decode() and "end must be after start" in backwards.content.decode()
    none = client.post("/orbits/contact-plans/new/", plan_form(sc_a, start, start + dt.timedelta(hours=1), False))
    assert "tick at least one spacecraft" in none.content.decode()
    assert not ContactPlan.objects.exists()


def test_viewers_cannot_build_contact_plans(client, viewer, sc_a, upcoming_pass):
    import datetime as dt

    client.force_login(viewer)
    start = upcoming_pass.aos
    response = client.post("/orbits/contact-plans/new/", plan_form(sc_a, start, start + dt.timedelta(hours=2)))
    assert response.status_code == 403


def test_another_organizations_spacecraft_are_not_offered(client, stranger, sc_a):
    client.force_login(stranger)
    assert "SC-001" not in client.get("/orbits/contact-plans/new/").content.decode()
