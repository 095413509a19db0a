"""What the schema forbids, the API refuses with a 400 naming the parameter (not "no filter")."""

import pytest


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/events/?until=", "until"),
        ("/api/v1/commands/?spacecraft=", "spacecraft"),
        ("/api/v1/documents/?state=", "state"),
        ("/api/v1/exposures/?light=null", "light"),
        ("/api/v1/spacecraft/?norad_id=0.5", "norad_id"),
        ("/api/v1/usage/?until=", "until"),
    ],
)
def test_a_typed_parameter_with_an_empty_or_malformed_value_is_a_400_naming_it(api, owner, url, field):
    response = api(owner).get(url)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_free_text_may_be_empty(api, owner):
    assert api(owner).get("/api/v1/events/?kind=").status_code == 200
    assert api(owner).get("/api/v1/exposures/?light=true").status_code == 200


def test_a_path_no_api_route_matches_is_a_json_404(api, owner):
    response = api(owner).get("/api/v1/spacecraft/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_recompute_refuses_a_horizon_past_a_week_as_bad_input(api, owner):
    response = api(owner).post("/api/v1/planning/plans/recompute/", {"horizon_h": 4e16}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "horizon_h"


def test_a_string_field_takes_only_strings():
    from rest_framework import serializers

    from missionops.api import StringField

    class Reason(serializers.Serializer):
        reason = StringField(max_length=10)

    assert not Reason(data={"reason": 5}).is_valid()
    assert Reason(data={"reason": "5"}).is_valid()


def test_the_schema_marks_whitespace_only_strings_and_empty_lists_refused(api, owner):
    schemas = api(owner).get("/api/schema/?format=json").json()["components"]["schemas"]
    webhook = schemas["WebhookRequest"]["properties"]
    assert webhook["name"]["pattern"] == r"\S"
    assert webhook["event_kinds"]["minItems"] == 1
    assert schemas["TagsRequest"]["properties"]["tags"]["items"]["pattern"] == r"\S"
