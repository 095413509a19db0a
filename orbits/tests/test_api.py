"""The orbits API through HTTP against the real database: happy paths, bad input, another
organization (404 / not matched), a user without the role (403)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from missionops.models import Event
from orbits import services
from orbits.models import TLE, Contact, ContactPlan, GroundStation, Pass

from .conftest import DATA, ISS_TLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def leo_a(make_spacecraft, org_a):
    return make_spacecraft(org_a, "SC-LEO", norad_id=90001)


def fresh_tle(norad: int = 90001) -> str:
    """The mixed set's polar LEO re-epoched to today, so that passes fall in the horizon."""
    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    from orbits import tle_format

    base = (
        tle_format.parse(
            "1 90001U 24001A   24080.00000000  .00000000  00000-0  21000-3 0  9997\n"
            "2 90001  98.2000 120.0000 0012000  90.0000 270.0000 14.57000000 10003"
        )
        .element_sets[0]
        .satrec
    )
    now = timezone.now()
    epoch = (now.replace(tzinfo=None) - datetime(1949, 12, 31)).total_seconds() / 86400
    sat = Satrec()
    sat.sgp4init(
        WGS72,
        "i",
        norad,
        epoch,
        base.bstar,
        0.0,
        0.0,
        base.ecco,
        base.argpo,
        base.inclo,
        base.mo,
        base.no_kozai,
        base.nodeo,
    )
    sat.classification, sat.intldesg, sat.elnum, sat.revnum = "U", "24001A", 999, 1
    return "TEST LEO\n" + "\n".join(export_tle(sat)) + "\n"


def test_import_text_lists_imported_and_refused(api, operator, leo_a, mixed_tle_text):
    response = api(operator).post("/api/v1/tles/", {"text": mixed_tle_text}, format="json")
    assert response.status_code == 201, response.data
    assert [i["norad_id"] for i in response.data["imported"]] == [90001]
    refused = {r["norad_id"]: r["reason"] for r in response.data["refused"]}
    assert set(refused) == {90002, 90003, 90004, 90005}
    assert "no spacecraft with NORAD id 90002" in refused[90002]
    assert TLE.objects.filter(spacecraft=leo_a).count() == 1
    again = api(operator).post("/api/v1/tles/", {"text": mixed_tle_text}, format="json")
    assert again.status_code == 200 and len(again.data["unchanged"]) == 1
    assert Event.objects.filter(kind="tle.imported").count() == 1


def test_import_file_with_a_bad_line_refuses_only_that_set(api, owner, make_spacecraft, org_a, mixed_tle_text):
    for norad in (90001, 90002):
        make_spacecraft(org_a, norad_id=norad)
    lines = mixed_tle_text.splitlines()
    lines[1] = lines[1][:68] + str((int(lines[1][68]) + 3) % 10)
    upload = SimpleUploadedFile("fleet.tle", "\n".join(lines).encode())
    response = api(owner).post("/api/v1/tles/", {"file": upload}, format="multipart")
    assert response.status_code == 201
    assert [i["norad_id"] for i in response.data["imported"]] == [90002]
    bad = [r for r in response.data["refused"] if r.get("line") == 2]
    assert bad and bad[0]["column"] == 69 and "checksum" in bad[0]["reason"]
    assert TLE.objects.get().source == "upload fleet.tle"


def test_import_create_missing_needs_admin_and_registers(api, owner, operator, mixed_tle_text):
    refused = api(operator).post("/api/v1/tles/", {"text": mixed_tle_text, "create_missing": True}, format="json")
    assert refused.status_code == 403
    response = api(owner).post("/api/v1/tles/", {"text": mixed_tle_text, "create_missing": True}, format="json")
    assert response.status_code == 201
    assert len(response.data["created_spacecraft"]) == 5 and len(response.data["imported"]) == 5


def test_import_bad_input_and_roles(api, viewer, operator, stranger, leo_a, mixed_tle_text):
    assert api(viewer).post("/api/v1/tles/", {"text": mixed_tle_text}, format="json").status_code == 403
    both = api(operator).post("/api/v1/tles/", {}, format="json")
    assert both.status_code == 400 and "text" in both.data
    # Another organization's admin: A's NORAD ids don't exist for them, nothing is written.
    response = api(stranger).post("/api/v1/tles/", {"text": mixed_tle_text}, format="json")
    assert response.status_code == 200 and not response.data["imported"]
    assert TLE.objects.count() == 0
    assert api(None).post("/api/v1/tles/", {"text": ISS_TLE}, format="json").status_code in (401, 403)


def test_tle_list_is_scoped(api, operator, stranger, leo_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    assert len(api(operator).get("/api/v1/tles/").data["results"]) == 1
    assert api(stranger).get("/api/v1/tles/").data["results"] == []


def test_position_ground_track_and_next_pass(api, viewer, stranger, leo_a, station_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    client = api(viewer)
    position = client.get(f"/api/v1/spacecraft/{leo_a.pk}/position/")
    assert position.status_code == 200
    assert -90 <= position.data["latitude_deg"] <= 90 and 500 < position.data["altitude_km"] < 900
    at = client.get(f"/api/v1/spacecraft/{leo_a.pk}/position/", {"at": "yesterday-ish"})
    assert at.status_code == 400 and at.data["field"] == "at"
    track = client.get(f"/api/v1/spacecraft/{leo_a.pk}/ground-track/", {"minutes_before": 0, "minutes_after": 200})
    assert track.status_code == 200 and track.data["type"] == "FeatureCollection"
    assert len(track.data["features"]) >= 2  # two orbits cross the antimeridian
    assert all(f["geometry"]["type"] == "LineString" for f in track.data["features"])
    bad = client.get(f"/api/v1/spacecraft/{leo_a.pk}/ground-track/", {"minutes_after": "lots"})
    assert bad.status_code == 400 and bad.data["field"] == "minutes_after"
    nxt = client.get(f"/api/v1/spacecraft/{leo_a.pk}/next-pass/")
    assert nxt.status_code == 200 and nxt.data["station_name"] == "Wallops"
    for path in ("position", "ground-track", "next-pass"):
        assert api(stranger).get(f"/api/v1/spacecraft/{leo_a.pk}/{path}/").status_code == 404


def test_fleet_ground_tracks_in_one_request_match_each_spacecraft_track(
    api, viewer, stranger, make_spacecraft, leo_a, django_assert_max_num_queries
):
    other = make_spacecraft(leo_a.organization, "SC-OTHER", norad_id=90011)
    make_spacecraft(leo_a.organization, "SC-NO-TLE")
    services.import_tles(organization=leo_a.organization, text=fresh_tle(90001) + fresh_tle(90011))
    client, at = api(viewer), timezone.now().isoformat()
    query = {"minutes_before": 0, "minutes_after": 200, "at": at}
    with django_assert_max_num_queries(12):  # however many spacecraft
        fleet = client.get("/api/v1/orbits/ground-tracks/", query)
    assert fleet.status_code == 200 and fleet.data["type"] == "FeatureCollection"
    by_sc = {f["properties"]["spacecraft"]: f for f in fleet.data["features"]}
    assert set(by_sc) == {str(leo_a.pk), str(other.pk)}  # no element set: left out
    one = client.get(f"/api/v1/spacecraft/{leo_a.pk}/ground-track/", query).data
    lines = [f["geometry"]["coordinates"] for f in one["features"]]
    geometry = by_sc[str(leo_a.pk)]["geometry"]
    assert geometry["type"] == "MultiLineString" and geometry["coordinates"] == lines
    assert by_sc[str(leo_a.pk)]["properties"]["element_set"]["id"] == one["element_set"]["id"]
    bad = client.get("/api/v1/orbits/ground-tracks/", {"minutes_after": 100000})
    assert bad.status_code == 400 and bad.data["field"] == "minutes_after"
    assert api(stranger).get("/api/v1/orbits/ground-tracks/").data["features"] == []


def test_stations_crud_recomputes_passes(api, owner, viewer, stranger, leo_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    body = {
        "name": "Svalbard",
        "latitude_deg": 78.23,
        "longitude_deg": 15.41,
        "altitude_m": 458,
        "min_elevation_deg": 5,
    }
    assert api(viewer).post("/api/v1/ground-stations/", body, format="json").status_code == 403
    bad = api(owner).post("/api/v1/ground-stations/", {**body, "latitude_deg": 91}, format="json")
    assert bad.status_code == 400 and GroundStation.objects.count() == 0
    created = api(owner).post("/api/v1/ground-stations/", body, format="json")
    assert created.status_code == 201
    station_id = created.data["id"]
    before = Pass.objects.filter(station_id=station_id).count()
    assert before >= 10  # a polar orbit over Svalbard, 48 h
    assert api(stranger).get(f"/api/v1/ground-stations/{station_id}/").status_code == 404
    assert api(viewer).patch(f"/api/v1/ground-stations/{station_id}/", {"min_elevation_deg": 20}).status_code == 403
    changed = api(owner).patch(f"/api/v1/ground-stations/{station_id}/", {"min_elevation_deg": 20}, format="json")
    assert changed.status_code == 200
    assert 0 < Pass.objects.filter(station_id=station_id).count() < before
    assert Pass.objects.filter(station_id=station_id, max_elevation_deg__lt=20).count() == 0


def test_passes_filters_and_scoping(api, viewer, stranger, leo_a, station_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    client = api(viewer)
    everything = client.get("/api/v1/passes/", {"limit": 1000}).data["results"]
    assert everything and all(str(p["spacecraft"]) == str(leo_a.pk) for p in everything)
    high = client.get("/api/v1/passes/", {"min_elevation": 30, "station": station_a.pk}).data["results"]
    assert all(p["max_elevation_deg"] >= 30 for p in high) and len(high) < len(everything)
    end = (timezone.now() + timedelta(hours=12)).isoformat()
    early = client.get("/api/v1/passes/", {"end": end, "limit": 1000}).data["results"]
    assert 0 < len(early) < len(everything)
    assert api(stranger).get("/api/v1/passes/").data["results"] == []


def test_contact_plan_serves_by_priority_and_explains(
    api, operator, viewer, stranger, make_spacecraft, org_a, station_a
):
    other = make_spacecraft(org_a, "SC-TWO", norad_id=90011)
    first = make_spacecraft(org_a, "SC-ONE", norad_id=90001)
    services.import_tles(organization=org_a, text=fresh_tle(90001) + fresh_tle(90011))
    start = timezone.now()
    body = {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=24)).isoformat(),
        "requests": [
            {"spacecraft": str(first.pk), "priority": 5, "volume_bits": 10**13},
            {"spacecraft": str(other.pk), "priority": 1, "volume_bits": 10**9},
        ],
    }
    assert api(viewer).post("/api/v1/contact-plans/", body, format="json").status_code == 403
    response = api(operator).post("/api/v1/contact-plans/", body, format="json")
    assert response.status_code == 201, response.data
    contacts = response.data["contacts"]
    assert contacts and {c["designation"] for c in contacts} == {"SC-ONE"}
    # Same orbit, so the same passes: the higher priority takes every second of them.
    unserved = {u["designation"]: u["reason"] for u in response.data["unserved"]}
    assert "higher-priority SC-ONE" in unserved["SC-TWO"]
    assert "carry only" in unserved["SC-ONE"]
    stranger_body = {**body, "requests": [{"spacecraft": str(first.pk), "volume_bits": 1}]}
    refused = api(stranger).post("/api/v1/contact-plans/", stranger_body, format="json")
    assert refused.status_code == 400 and ContactPlan.objects.count() == 1
    inverted = api(operator).post("/api/v1/contact-plans/", {**body, "end": body["start"]}, format="json")
    assert inverted.status_code == 400 and inverted.data["field"] == "end"
    plan_id = response.data["id"]
    assert api(viewer).get(f"/api/v1/contact-plans/{plan_id}/").status_code == 200
    assert api(stranger).get(f"/api/v1/contact-plans/{plan_id}/").status_code == 404


def test_pass_started_and_ended_events_once(leo_a, station_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    first = Pass.objects.filter(aos__gt=timezone.now()).order_by("aos").first()
    during = first.aos + (first.los - first.aos) / 2
    assert services.announce_passes(now=during) >= 1
    assert services.announce_passes(now=during) == 0
    assert Event.objects.filter(kind="pass.started").count() == 1
    services.announce_passes(now=first.los + timedelta(seconds=1))
    assert Event.objects.filter(kind="pass.ended").count() == 1
    # Recomputing during the pass keeps it announced: no second pass.started.
    services.recompute_passes(organization=leo_a.organization, start=during)
    services.announce_passes(now=during + timedelta(seconds=5))
    assert Event.objects.filter(kind="pass.started").count() == 1


def test_propagate_fleet_feeds_the_energy_model(leo_a):
    from spacecraft.services import update_state

    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    update_state(spacecraft=leo_a, battery_soc_pct=50.0)
    now = datetime.now(UTC)
    assert services.propagate_fleet(now=now, tick_s=120) == 1
    leo_a.refresh_from_db()
    assert leo_a.battery_soc_pct != 50.0  # 2 minutes of sunlight or shadow moved it


def _client(api, user):
    """A client that answers a server error with 500 instead of raising it in the test."""
    client = api(user)
    client.raise_request_exception = False
    return client


def _omm_text(**changes) -> str:
    import json

    from sgp4.exporter import export_omm

    from orbits import tle_format

    record = export_omm(tle_format.parse(ISS_TLE).element_sets[0].satrec, "ISS (ZARYA)")
    return json.dumps([{**record, **changes}])


def _one_character_exponent() -> str:
    """The ISS set with a second derivative field of one character, its checksum made good."""
    from orbits.tle_format import checksum

    name, line1, line2 = ISS_TLE.splitlines()
    line1 = line1[:44] + "       5" + line1[52:68]
    return f"{name}\n{line1}{checksum(line1)}\n{line2}\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (_omm_text(EPOCH="2060-03-20T06:00:00"), {"field": "EPOCH"}),
        (_omm_text(EPOCH="1950-03-20T06:00:00"), {"field": "EPOCH"}),
        (_omm_text(MEAN_MOTION=10**400), {"field": "MEAN_MOTION"}),
        (_omm_text().replace('"NORAD_CAT_ID": 25544', '"NORAD_CAT_ID": 1e400'), {"field": "NORAD_CAT_ID"}),
        (_omm_text().replace('"NORAD_CAT_ID": 25544', '"NORAD_CAT_ID": ' + "1" * 5000), {"line": 1}),
        (_omm_text(OBJECT_NAME="\ud800"), {"field": "OBJECT_NAME"}),
        (_one_character_exponent(), {"line": 2, "column": 45}),
    ],
)
def test_import_of_odd_element_sets_refuses_them_and_writes_nothing(api, operator, make_spacecraft, org_a, text, where):
    make_spacecraft(org_a, "ISS", norad_id=25544)
    response = _client(api, operator).post("/api/v1/tles/", {"text": text}, format="json")
    assert response.status_code == 200, getattr(response, "data", response.content[:300])
    assert response.data["imported"] == []
    (refusal,) = response.data["refused"]
    assert {k: refusal.get(k) for k in where} == where
    assert TLE.objects.count() == 0


def test_import_create_missing_refuses_only_the_set_whose_designation_is_taken(api, owner, make_spacecraft, org_a):
    make_spacecraft(org_a, "NORAD-90002")  # registered by hand, without a NORAD id
    text = (DATA / "mixed.tle").read_text()
    response = _client(api, owner).post("/api/v1/tles/", {"text": text, "create_missing": True}, format="json")
    assert response.status_code == 201, response.data
    assert sorted(i["norad_id"] for i in response.data["imported"]) == [90001, 90003, 90004, 90005]
    (refused,) = response.data["refused"]
    assert refused["norad_id"] == 90002 and "'NORAD-90002' is already in use" in refused["reason"]
    assert "NORAD-90002" not in response.data["created_spacecraft"]
    assert TLE.objects.count() == 4


@pytest.mark.parametrize("at", ["9999-12-31T23:00:00Z", "0001-01-01T00:10:00Z"])
def test_ground_track_reaching_outside_the_calendar_is_a_400_naming_at(api, viewer, leo_a, at):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    response = _client(api, viewer).get(f"/api/v1/spacecraft/{leo_a.pk}/ground-track/", {"at": at})
    assert response.status_code == 400 and response.data["field"] == "at"


@pytest.mark.parametrize("station", ["²", "١", "x1", "-1"])
def test_next_pass_station_must_be_ascii_digits(api, viewer, leo_a, station_a, station):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    response = _client(api, viewer).get(f"/api/v1/spacecraft/{leo_a.pk}/next-pass/", {"station": station})
    assert response.status_code == 400 and response.data["field"] == "station"
    found = _client(api, viewer).get(f"/api/v1/spacecraft/{leo_a.pk}/next-pass/", {"station": str(station_a.pk)})
    assert found.status_code == 200 and found.data["station"] == station_a.pk


def _plan_body(spacecraft, volume_bits, hours=24) -> dict:
    start = timezone.now()
    return {
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "requests": [{"spacecraft": str(spacecraft.pk), "volume_bits": volume_bits}],
    }


@pytest.mark.parametrize("volume_bits", [2**63, 10**20, 10**30])
def test_contact_plan_volume_beyond_a_bigint_is_a_400_naming_it(api, operator, leo_a, station_a, volume_bits):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    response = _client(api, operator).post("/api/v1/contact-plans/", _plan_body(leo_a, volume_bits), format="json")
    assert response.status_code == 400 and "volume_bits" in response.data["requests"][0]
    assert not ContactPlan.objects.exists()


def test_contact_plan_with_the_largest_volume_books_every_pass(api, operator, leo_a, station_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    response = _client(api, operator).post("/api/v1/contact-plans/", _plan_body(leo_a, 2**63 - 1), format="json")
    assert response.status_code == 201, getattr(response, "data", response.content[:300])
    plan = ContactPlan.objects.get()
    assert plan.contacts.count() == Pass.objects.filter(aos__lt=plan.end, los__gt=plan.start).count()
    (unserved,) = response.data["unserved"]
    assert unserved["needed_bits"] == 2**63 - 1 and "carry only" in unserved["reason"]


def test_contact_plan_list_reads_a_constant_number_of_queries(api, viewer, operator, leo_a, station_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    client = api(viewer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/contact-plans/").status_code == 200
        return len(captured)

    api(operator).post("/api/v1/contact-plans/", _plan_body(leo_a, 10**10), format="json")
    one = queries()
    for _ in range(5):
        api(operator).post("/api/v1/contact-plans/", _plan_body(leo_a, 10**10), format="json")
    assert ContactPlan.objects.count() == 6 and Contact.objects.count() >= 6
    assert queries() == one


def test_deleting_a_station_with_contacts_to_come_is_refused_naming_the_plans(api, owner, operator, leo_a, station_a):
    services.import_tles(organization=leo_a.organization, text=fresh_tle())
    created = api(operator).post("/api/v1/contact-plans/", _plan_body(leo_a, 10**10), format="json")
    assert created.status_code == 201 and created.data["contacts"]
    response = _client(api, owner).delete(f"/api/v1/ground-stations/{station_a.pk}/")
    assert response.status_code == 409 and f"contact plan(s) {created.data['id']}" in response.data["detail"]
    assert GroundStation.objects.filter(pk=station_a.pk).exists() and Contact.objects.exists()
    # Once every contact is over, the station goes, and its past contacts with it (counted).
    later = max(c.end for c in Contact.objects.all()) + timedelta(seconds=1)
    services.delete_station(station=station_a, actor=owner, now=later)
    assert not GroundStation.objects.filter(pk=station_a.pk).exists() and not Contact.objects.exists()
    event = Event.objects.get(kind="station.deleted")
    assert event.payload["past_contacts_removed"] >= 1
