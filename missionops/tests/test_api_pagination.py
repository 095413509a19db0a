"""Pagination refuses what it cannot honour, and the schema says what it is."""

import pytest

from missionops.models import Event


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("offset=1000001", "offset"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=1001", "limit"),
        ("limit=", "limit"),
        ("limit=1.5", "limit"),
    ],
)
def test_a_limit_or_offset_out_of_range_is_a_400_naming_it(api, owner, make_spacecraft, org_a, query, field):
    make_spacecraft(org_a, "SC-001")
    response = api(owner).get(f"/api/v1/spacecraft/?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert "from" in response.json()["detail"]


def test_limit_and_offset_in_range_page_with_a_count(api, owner, make_spacecraft, org_a):
    for n in range(3):
        make_spacecraft(org_a, f"SC-00{n}")
    body = api(owner).get("/api/v1/spacecraft/?limit=1&offset=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 1
    assert api(owner).get("/api/v1/spacecraft/?limit=1000&offset=1000000").json()["results"] == []


@pytest.mark.parametrize("page_size", ["0", "-1", "1001", "x"])
def test_a_cursor_page_size_out_of_range_is_a_400_naming_it(api, owner, page_size):
    response = api(owner).get(f"/api/v1/events/?page_size={page_size}")
    assert response.status_code == 400
    assert response.json()["field"] == "page_size"


def test_a_cursor_page_size_in_range_pages(api, owner, org_a):
    Event.objects.bulk_create([Event(organization=org_a, kind="test.event", payload={}) for _ in range(3)])
    body = api(owner).get("/api/v1/events/?page_size=2").json()
    assert len(body["results"]) == 2
    assert body["next"]


@pytest.fixture
def schema(api, owner):
    return api(owner).get("/api/schema/?format=json").json()


def test_the_schema_states_the_ranges_of_limit_offset_and_page_size(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/spacecraft/"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["offset"] == {"type": "integer", "minimum": 0, "maximum": 1_000_000}
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/events/"]["get"]["parameters"]}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 1000}


def test_plain_lists_are_documented_as_plain_lists(schema):
    for path in ("/api/v1/documents/{id}/versions/", "/api/v1/jobs/{id}/logs/"):
        operation = schema["paths"][path]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
        assert not {"limit", "offset", "bbox", "state"} & {p["name"] for p in operation.get("parameters", [])}
    deliveries = schema["paths"]["/api/v1/webhooks/{id}/deliveries/"]["get"]["responses"]["200"]
    page = deliveries["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}  # no count


def test_every_operation_documents_its_error_answers(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "429", "503"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"409", "413", "415"} <= codes, (method, path)
