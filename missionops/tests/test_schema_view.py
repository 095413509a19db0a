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
