"""The planning REST API: requests (create, list, cancel) and plans (recompute, lost contact),
with bad input, another organization and missing roles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from missionops.models import Event
from planning.models import ImagingRequest, Plan, RequestState

URL = "/api/v1/planning/requests/"


@pytest.fixture
def body(template_a):
    start = timezone.now()
    return {
        "name": "Etna",
        "target": {"type": "Point", "coordinates": [14.99, 37.75]},
        "priority": 8,
        "earliest_start": start.isoformat(),
        "deadline": (start + timedelta(hours=48)).isoformat(),
        "volume_bits": 4_000_000_000,
        "template": template_a.pk,
    }


def test_create_request(api, operator, body):
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 201, response.data
    assert response.data["state"] == "pending"
    assert response.data["can_cancel"] is True
    assert response.data["target_latitude_deg"] == pytest.approx(37.75)
    request = ImagingRequest.objects.get(pk=response.data["id"])
    assert Event.objects.filter(kind="imaging_request.pending", subject_id=str(request.pk)).exists()


def test_polygon_target_centre(api, operator, body):
    body["target"] = {"type": "Polygon", "coordinates": [[[179, 0], [-179, 0], [-179, 2], [179, 2], [179, 0]]]}
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 201, response.data
    assert abs(response.data["target_longitude_deg"]) == pytest.approx(180)
    assert response.data["target_latitude_deg"] == pytest.approx(1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deadline": "2020-01-01T00:00:00Z"}, "deadline"),
        ({"target": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}, "target"),
        ({"target": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "target"),
        ({"target": {"type": "Point", "coordinates": [200, 0]}}, "target"),
        ({"template": 999_999}, "template"),
        ({"priority": 0}, "priority"),
        ({"volume_bits": 0}, "volume_bits"),
        ({"min_elevation_deg": 95}, "min_elevation_deg"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api, operator, body, change, field):
    body.update(change)
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 400, response.data
    assert response.data["field"] == field
    assert not ImagingRequest.objects.exists()
    assert not Event.objects.filter(kind__startswith="imaging_request.").exists()


def test_deadline_before_start(api, operator, body):
    start = timezone.now() + timedelta(hours=5)
    body.update(earliest_start=start.isoformat(), deadline=(start - timedelta(hours=1)).isoformat())
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.data["field"] == "deadline"
    assert "after earliest_start" in response.data["detail"]


def test_another_organizations_template_is_unknown(api, operator, body, org_b, stranger):
    from jobs.services import save_template

    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    theirs = save_template(organization=org_b, actor=stranger, name="theirs", kind="tile", params={}, footprint=square)
    body["template"] = theirs.pk
    response = api(operator).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.data["field"] == "template"


def test_viewer_cannot_create_or_cancel(api, viewer, operator, body):
    assert api(viewer).post(URL, body, format="json").status_code == 403
    created = api(operator).post(URL, body, format="json").data
    assert api(viewer).get(f"{URL}{created['id']}/").status_code == 200
    assert api(viewer).post(f"{URL}{created['id']}/cancel/", {}, format="json").status_code == 403
    assert ImagingRequest.objects.get(pk=created["id"]).state == "pending"


def test_another_organizations_requests_are_invisible(api, operator, stranger, body):
    created = api(operator).post(URL, body, format="json").data
    assert [r["id"] for r in _items(api(stranger).get(URL).data)] == []
    assert api(stranger).get(f"{URL}{created['id']}/").status_code == 404
    assert api(stranger).post(f"{URL}{created['id']}/cancel/", {}, format="json").status_code == 404
    assert [r["id"] for r in _items(api(operator).get(URL).data)] == [created["id"]]


def _items(data):
    return data["results"] if isinstance(data, dict) and "results" in data else data


def test_cancel_and_cancel_twice(api, operator, body):
    created = api(operator).post(URL, body, format="json").data
    response = api(operator).post(f"{URL}{created['id']}/cancel/", {"reason": "cloudy"}, format="json")
    assert response.status_code == 200
    assert response.data["state"] == RequestState.CANCELED
    assert response.data["failure_reason"] == "cloudy"
    again = api(operator).post(f"{URL}{created['id']}/cancel/", {}, format="json")
    assert again.status_code == 409


def test_state_filter(api, operator, body):
    api(operator).post(URL, body, format="json")
    assert len(_items(api(operator).get(URL, {"state": "pending"}).data)) == 1
    assert len(_items(api(operator).get(URL, {"state": "planned"}).data)) == 0


def test_recompute_plan_and_list(api, operator, viewer, stranger, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"], priority=3)
    response = api(operator).post(
        "/api/v1/planning/plans/recompute/", {"horizon_h": 12, "time_limit_s": 5}, format="json"
    )
    assert response.status_code == 201, response.data
    plan = response.data
    assert plan["solver"] in ("cp-sat", "greedy-fallback")
    assert plan["value"] == 3 and plan["bound"] >= 3
    assert len(plan["slots"]) == 1 and len(plan["downlinks"]) == 1
    assert plan["slots"][0]["downlink"] == plan["downlinks"][0]["id"]
    listed = _items(api(viewer).get("/api/v1/planning/plans/").data)
    assert [p["id"] for p in listed] == [plan["id"]]
    assert api(viewer).get(f"/api/v1/planning/plans/{plan['id']}/").data["slots"][0]["request_name"] == "Target"
    assert _items(api(stranger).get("/api/v1/planning/plans/").data) == []
    assert api(stranger).get(f"/api/v1/planning/plans/{plan['id']}/").status_code == 404
    assert api(viewer).post("/api/v1/planning/plans/recompute/", {}, format="json").status_code == 403


def test_recompute_bad_horizon(api, operator, imaging):
    response = api(operator).post("/api/v1/planning/plans/recompute/", {"horizon_h": 500}, format="json")
    assert response.status_code == 400
    assert response.data["field"] == "horizon_h"
    assert not Plan.objects.exists()


def test_lost_contact(api, operator, viewer, stranger, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"])
    plan = (
        api(operator)
        .post("/api/v1/planning/plans/recompute/", {"horizon_h": 12, "time_limit_s": 5}, format="json")
        .data
    )
    downlink = plan["downlinks"][0]["id"]
    url = f"/api/v1/planning/plans/{plan['id']}/lost-contact/"
    assert api(viewer).post(url, {"downlink": downlink}, format="json").status_code == 403
    assert api(stranger).post(url, {"downlink": downlink}, format="json").status_code == 404
    assert api(operator).post(url, {"downlink": 999_999}, format="json").data["field"] == "downlink"
    response = api(operator).post(url, {"downlink": downlink, "reason": "antenna fault"}, format="json")
    assert response.status_code == 200 and response.data["state"] == "lost"
    assert api(operator).post(url, {"downlink": downlink}, format="json").status_code == 409


def test_schema_lists_the_planning_endpoints(api, operator):
    schema = api(operator).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/planning/requests/",
        "/api/v1/planning/requests/{id}/cancel/",
        "/api/v1/planning/plans/",
        "/api/v1/planning/plans/recompute/",
        "/api/v1/planning/plans/{id}/lost-contact/",
    ):
        assert path in schema["paths"], path
