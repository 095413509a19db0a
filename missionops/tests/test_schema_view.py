"""The OpenAPI schema is generated once per process (Swagger UI and ReDoc waited seconds for it on
every load) and again after a settings change."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from missionops import schema_view


@pytest.mark.django_db
def test_the_schema_is_generated_once_and_again_after_a_settings_change(client, monkeypatch, settings):
    schema_view._schemas.clear()
    made = []
    real = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        made.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    first = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    second = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and "/api/v1/spacecraft/" in first.json()["paths"]
    assert len(made) == 1
    yaml = client.get("/api/schema/")  # another rendering of the same schema
    assert yaml.status_code == 200 and b"openapi:" in yaml.content and len(made) == 1
    settings.SPECTACULAR_SETTINGS = {**settings.SPECTACULAR_SETTINGS, "TITLE": "MissionOps API"}
    assert client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert len(made) == 2


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.django_db
def test_every_operation_is_in_one_area_and_an_area_is_a_whole_schema(client):
    from missionops.openapi import AREA_TAGS

    whole = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [op for ops in whole["paths"].values() for op in ops.values() if isinstance(op, dict)]
    assert all(len(op["tags"]) == 1 and op["tags"][0] in AREA_TAGS for op in operations)
    assert [t["name"] for t in whole["tags"]] == AREA_TAGS
    assert "/api/v1/jobs/" in whole["paths"] and "/api/v1/telemetry/" in whole["paths"]
    per_area = 0
    for tag in AREA_TAGS:
        area = client.get(f"/api/schema/?tag={tag}", HTTP_ACCEPT="application/json").json()
        ops = [op for ops in area["paths"].values() for op in ops.values() if isinstance(op, dict)]
        assert ops and all(op["tags"] == [tag] for op in ops)
        per_area += len(ops)
        # Every reference resolves inside the area's schema (the components it needs are kept).
        schemas = area["components"]["schemas"]
        assert all(ref.rsplit("/", 1)[1] in schemas for ref in _refs(area) if "/schemas/" in ref)
        assert len(schemas) < len(whole["components"]["schemas"])
    assert per_area == len(operations)  # the areas split the API: nothing lost, nothing twice
    jobs = client.get("/api/schema/?tag=jobs", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/jobs/" in jobs["paths"] and "/api/v1/telemetry/" not in jobs["paths"]


@pytest.mark.django_db
def test_an_unknown_area_is_refused_by_name(client, admin_client):
    response = client.get("/api/schema/?tag=nope", HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["field"] == "tag"
    assert admin_client.get("/api/redoc/?area=nope").status_code == 404


@pytest.mark.django_db
def test_redoc_shows_one_area_at_a_time_with_links_to_the_others(admin_client):
    body = admin_client.get("/api/redoc/").content.decode()
    assert 'data-schema-url="/api/schema/?tag=spacecraft"' in body
    assert 'href="?area=jobs"' in body and 'href="?area=all"' in body
    assert 'data-schema-url="/api/schema/?tag=jobs"' in admin_client.get("/api/redoc/?area=jobs").content.decode()
    everything = admin_client.get("/api/redoc/?area=all").content.decode()
    assert 'data-schema-url="/api/schema/"' in everything
