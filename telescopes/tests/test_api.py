import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from telescopes.models import AlpacaDevice, Exposure, ObservationSession, Observatory, Operation, OperationStatus
from telescopes.services import create_observatory
from telescopes.services.operations import request_operation, run_operation

pytestmark = pytest.mark.django_db


def add_sessions(observatory, spacecraft, count, exposures_each=2) -> None:
    telescope = AlpacaDevice.objects.create(
        observatory=observatory, device_type="telescope", host="127.0.0.1", port=11111 + count
    )
    start = timezone.now()
    for n in range(count):
        session = ObservationSession.objects.create(
            observatory=observatory,
            telescope=telescope,
            spacecraft=spacecraft,
            tle_line1="1",
            tle_line2="2",
            start=start + timedelta(hours=n),
            end=start + timedelta(hours=n, minutes=10),
        )
        for e in range(exposures_each):
            Exposure.objects.create(
                camera=telescope,
                session=session,
                started_at=session.start + timedelta(seconds=e),
                duration_s=1.0,
                width=8,
                height=8,
                fits=f"e{n}-{e}.fits",
                preview=f"e{n}-{e}.png",
            )


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_observatory_list_counts_devices_in_a_constant_number_of_queries(
    api, viewer, org_a, add_observatories, django_assert_max_num_queries
):
    client = api(viewer)
    expected = add_observatories(org_a, range(1, 3))
    client.get("/api/v1/observatories/")  # warm the per-process caches
    few = queries_for(client, "/api/v1/observatories/")
    expected |= add_observatories(org_a, range(3, 13))
    with django_assert_max_num_queries(few):
        results = client.get("/api/v1/observatories/").json()["results"]
    assert {o["name"]: o["device_count"] for o in results} == expected


def test_created_observatory_has_a_device_count(api, owner):
    body = {"name": "Teide", "latitude_deg": 28.3, "longitude_deg": -16.5}
    response = api(owner).post("/api/v1/observatories/", body, format="json")
    assert response.status_code == 201 and response.json()["device_count"] == 0


def test_session_list_reads_exposures_in_a_constant_number_of_queries(
    api, viewer, org_a, sc_a, django_assert_max_num_queries
):
    client = api(viewer)
    site = create_observatory(organization=org_a, name="Site", latitude_deg=40.0, longitude_deg=8.0)
    add_sessions(site, sc_a, 2)
    client.get("/api/v1/observation-sessions/")
    few = queries_for(client, "/api/v1/observation-sessions/")
    add_sessions(site, sc_a, 10)
    with django_assert_max_num_queries(few):
        results = client.get("/api/v1/observation-sessions/").json()["results"]
    assert len(results) == 12
    for session in results:
        newest_first = Exposure.objects.filter(session_id=session["id"]).order_by("-started_at", "-id")
        assert session["exposures"] == [e.pk for e in newest_first]


def test_observatory_crud_by_admin_only(api, owner, viewer, org_a):
    body = {"name": "Teide", "latitude_deg": 28.3, "longitude_deg": -16.5, "altitude_m": 2390, "horizon_limit_deg": 15}
    assert api(viewer).post("/api/v1/observatories/", body, format="json").status_code == 403
    response = api(owner).post("/api/v1/observatories/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["organization"] == org_a.slug
    again = api(owner).post("/api/v1/observatories/", body, format="json")
    assert again.status_code == 409 and again.json()["field"] == "name"
    bad = api(owner).post("/api/v1/observatories/", {**body, "name": "X", "latitude_deg": 95}, format="json")
    assert bad.status_code == 400 and "latitude_deg" in bad.json()
    bad_hosts = api(owner).post(
        "/api/v1/observatories/", {**body, "name": "Y", "discovery_hosts": "h:0"}, format="json"
    )
    assert bad_hosts.status_code == 400 and bad_hosts.json()["field"] == "discovery_hosts"
    assert Observatory.objects.count() == 1
    pk = response.json()["id"]
    assert api(viewer).get(f"/api/v1/observatories/{pk}/").status_code == 200
    assert api(viewer).patch(f"/api/v1/observatories/{pk}/", {"name": "Z"}, format="json").status_code == 403
    # Renamed onto another observatory's name: the same 409 naming the field.
    assert api(owner).post("/api/v1/observatories/", {**body, "name": "La Palma"}, format="json").status_code == 201
    clash = api(owner).patch(f"/api/v1/observatories/{pk}/", {"name": "La Palma"}, format="json")
    assert clash.status_code == 409 and clash.json()["field"] == "name"
    assert api(owner).patch(f"/api/v1/observatories/{pk}/", {"name": "Teide"}, format="json").status_code == 200


def test_other_organization_sees_nothing(api, stranger, devices, observatory):
    telescope = devices["telescope"]
    client = api(stranger)
    assert client.get("/api/v1/observatories/").json()["results"] == []
    assert client.get(f"/api/v1/observatories/{observatory.pk}/").status_code == 404
    assert client.post(f"/api/v1/observatories/{observatory.pk}/discover/", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/telescopes/{telescope.pk}/").status_code == 404
    assert client.post(f"/api/v1/telescopes/{telescope.pk}/park/").status_code == 404
    assert client.post(f"/api/v1/cameras/{devices['camera'].pk}/expose/", {"duration_s": 1}).status_code == 404
    assert client.get("/api/v1/alpaca-devices/").json()["results"] == []
    assert not Operation.objects.exists()


def test_viewer_cannot_operate(api, viewer, devices):
    client = api(viewer)
    telescope = devices["telescope"]
    assert client.get(f"/api/v1/telescopes/{telescope.pk}/").status_code == 200
    for path, body in [
        (f"/api/v1/telescopes/{telescope.pk}/slew/", {"altitude_deg": 40, "azimuth_deg": 10}),
        (f"/api/v1/telescopes/{telescope.pk}/park/", {}),
        (f"/api/v1/telescopes/{telescope.pk}/abort/", {}),
        (f"/api/v1/telescopes/{telescope.pk}/tracking/", {"enabled": True}),
        (f"/api/v1/alpaca-devices/{telescope.pk}/connect/", {}),
        (f"/api/v1/cameras/{devices['camera'].pk}/expose/", {"duration_s": 1}),
        (f"/api/v1/focusers/{devices['focuser'].pk}/move/", {"position": 1}),
        (f"/api/v1/domes/{devices['dome'].pk}/open/", {}),
    ]:
        response = client.post(path, body, format="json")
        assert response.status_code == 403, (path, response.json())
    assert not Operation.objects.exists()


def test_operator_slew_validation_and_horizon_refusal(api, operator, devices):
    client = api(operator)
    telescope = devices["telescope"]
    low = client.post(f"/api/v1/telescopes/{telescope.pk}/slew/", {"altitude_deg": 3, "azimuth_deg": 10}, format="json")
    assert low.status_code == 400
    assert "below the horizon limit of Sim Observatory (10°)" in low.json()["detail"]
    neither = client.post(f"/api/v1/telescopes/{telescope.pk}/slew/", {"ra_hours": 3}, format="json")
    assert neither.status_code == 400 and "ra_hours" in neither.json()
    wrong_type = client.post(f"/api/v1/telescopes/{devices['camera'].pk}/park/")
    assert wrong_type.status_code == 404  # a camera is not a telescope
    assert not Operation.objects.exists()
    ok = client.post(f"/api/v1/telescopes/{telescope.pk}/slew/", {"altitude_deg": 40, "azimuth_deg": 10}, format="json")
    assert ok.status_code == 202 and ok.json()["status"] == "pending" and ok.json()["kind"] == "slew_altaz"


def test_admin_adds_device_by_hand_and_discovers(api, owner, operator, observatory, simulator, discovery_responder):
    body = {"observatory": observatory.pk, "host": "127.0.0.1", "port": simulator.port, "device_type": "telescope"}
    assert api(operator).post("/api/v1/alpaca-devices/", body, format="json").status_code == 403
    created = api(owner).post("/api/v1/alpaca-devices/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["name"] == "Simulator Telescope"
    wrong = api(owner).post("/api/v1/alpaca-devices/", {**body, "device_number": 5}, format="json")
    assert wrong.status_code == 400 and wrong.json()["field"] == "host"

    assert api(operator).post(f"/api/v1/observatories/{observatory.pk}/discover/", {}, format="json").status_code == 403
    nothing = api(owner).post(f"/api/v1/observatories/{observatory.pk}/discover/", {}, format="json")
    assert nothing.status_code == 400 and "nothing to discover on" in nothing.json()["detail"]
    found = api(owner).post(
        f"/api/v1/observatories/{observatory.pk}/discover/",
        {"hosts": f"127.0.0.1:{discovery_responder.port}", "timeout_s": 0.5},
        format="json",
    )
    assert found.status_code == 200, found.json()
    assert len(found.json()["registered"]) == 9 and len(found.json()["known"]) == 1
    assert AlpacaDevice.objects.filter(observatory=observatory).count() == 10


@pytest.mark.slow
def test_slew_through_a_real_worker(api, operator, devices, celery_worker_process):
    client = api(operator)
    telescope = devices["telescope"]
    run_operation(operation=request_operation(device=telescope, kind="unpark", enqueue=False))
    response = client.post(
        f"/api/v1/telescopes/{telescope.pk}/slew/", {"altitude_deg": 60, "azimuth_deg": 120}, format="json"
    )
    assert response.status_code == 202
    pk = response.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/telescope-operations/{pk}/").json()
        if body["status"] not in ("pending", "running"):
            break
        time.sleep(0.3)
    assert body["status"] == OperationStatus.SUCCEEDED, body
    assert body["result"]["pointing"]["altitude_deg"] == pytest.approx(60, abs=0.01)
