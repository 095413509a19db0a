"""A `telemetry` live message carries LatestValues, the answer of `GET /api/v1/telemetry/latest/`,
restricted to the parameters the ingest changed, each row as REST shows it (as of the commit), and
`committed_at`."""

import datetime as dt
import json
import time

import pytest
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from telemetry import representations, selectors
from telemetry.models import ParameterDefinition
from telemetry.representations import LatestSerializer

from .test_api import URL, post_json
from .test_ingest import batch

pytestmark = pytest.mark.django_db


def test_a_telemetry_message_is_the_latest_values_as_the_api_shows_them(
    api, operator, viewer, sc_a, now_minute, live_sent, django_capture_on_commit_callbacks
):
    before = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(operator).post(URL, data=json.dumps(batch(sc_a, now_minute)), content_type="application/json")
    assert response.status_code == 200, response.json()
    shown = api(viewer).get(f"{URL}latest/", {"spacecraft": "SC-001"}).json()
    [message] = [m for topic, m in live_sent if topic == f"sc.{sc_a.pk}"]
    assert message["kind"] == "telemetry" and set(message) == {"kind", "data"}
    data = message["data"]
    assert before <= data.pop("committed_at") <= time.time()
    assert set(data.pop("rate")) == set(shown.pop("rate")) == {"total", "by_interface"}
    rows, shown_rows = data.pop("values"), shown.pop("values")
    assert data == shown  # spacecraft, designation
    changed = {"battery_soc", "imaging_mode", "images_captured"}
    assert [row["parameter"] for row in rows] == [r["parameter"] for r in shown_rows if r["parameter"] in changed]
    for row, rest in zip(rows, [r for r in shown_rows if r["parameter"] in changed], strict=True):
        assert 0 <= rest.pop("age_s") - row.pop("age_s") < 60  # as of the commit, then of the request
        assert row == rest
    assert rows[0]["value"] is not None and rows[0]["time"].endswith("Z")


def test_a_message_holds_only_the_rows_that_changed(
    api, operator, sc_a, now_minute, live_sent, django_capture_on_commit_callbacks
):
    post_json(api(operator), batch(sc_a, now_minute))  # not captured: sends nothing
    later = batch(sc_a, now_minute, n=4)[-1]["timestamp"]
    with django_capture_on_commit_callbacks(execute=True):
        post_json(api(operator), [{"spacecraft": "SC-001", "timestamp": later, "parameters": {"battery_soc": 95.5}}])
    [message] = [m for topic, m in live_sent if topic == f"sc.{sc_a.pk}"]
    rows = message["data"]["values"]
    assert [(row["parameter"], row["value"], row["status"], row["time"]) for row in rows] == [
        ("battery_soc", 95.5, "nominal", later)
    ]


@pytest.mark.parametrize("kind", ["float", "int", "bool", "enum", "never"])
def test_a_row_is_what_drf_makes_of_it_field_by_field(sc_a, now_minute, kind):
    definition = ParameterDefinition(
        spacecraft=sc_a,
        name="p",
        subsystem="eps",
        units="V",
        type=kind if kind != "never" else "float",
        declared=kind != "int",
        enum_values=["IDLE", "SCAN"],
        enum_codes=["IDLE", "SCAN"],
        warn_low=1,
        crit_high=10.5,
        expected_interval_s=2,
    )
    value = {"float": 5.25, "int": 7.0, "bool": 1.0, "enum": 1.0, "never": None}[kind]
    moment = (
        None
        if kind == "never"
        else (now_minute + dt.timedelta(microseconds=1500)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    )
    row = selectors.latest_row(definition, value, moment, now_minute + dt.timedelta(seconds=3.25))
    drf = json.loads(json.dumps(serializers.Serializer.to_representation(LatestSerializer(), row), cls=JSONEncoder))
    assert representations.latest_row(row) == drf == json.loads(representations.latest_row_json(row))
    assert list(representations.latest_row(row)) == list(LatestSerializer().fields)
