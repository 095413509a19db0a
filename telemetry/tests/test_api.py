import datetime as dt
import json
import math

import msgpack
import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from telemetry import services
from telemetry.models import LatestValue

from .conftest import iso
from .test_ingest import batch, count_samples

URL = "/api/v1/telemetry/"


def read_stream(response) -> str:
    async def collect():
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


def post_json(client, data):
    return client.post(URL, data=json.dumps(data), content_type="application/json")


def test_ingest_json_and_resend(api, operator, sc_a, now_minute):
    client = api(operator)
    response = post_json(client, batch(sc_a, now_minute))
    assert response.status_code == 200, response.content
    assert response.json() | {"registered": []} == {
        "received": 9,
        "stored": 9,
        "duplicates": 0,
        "registered": [],
        "spacecraft": ["SC-001"],
    }
    again = post_json(client, batch(sc_a, now_minute))
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 9)
    assert count_samples(sc_a) == 9


def test_ingest_ndjson(api, operator, sc_a, now_minute):
    body = "\n".join(json.dumps(item) for item in batch(sc_a, now_minute)) + "\n"
    response = api(operator).post(URL, data=body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 9


def test_ndjson_bad_line_names_its_physical_line(api, operator, sc_a, now_minute):
    lines = [json.dumps(item) for item in batch(sc_a, now_minute)]
    lines.insert(2, "{not json")
    response = api(operator).post(URL, data="\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["field"] == "lines[3]"
    assert response.json()["detail"].startswith("line 3: not JSON")
    assert count_samples(sc_a) == 0


def test_ndjson_invalid_item_names_its_physical_line_counting_blank_lines(api, operator, sc_a, now_minute):
    items = batch(sc_a, now_minute)
    items[2]["parameters"]["battery_soc"] = "full"
    lines = [json.dumps(item) for item in items]
    lines[1:1] = ["", "   "]  # blank lines are counted: the bad item (index 2) is on line 5
    response = api(operator).post(URL, data="\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "lines[5].parameters.battery_soc"
    assert response.json()["detail"].startswith("line 5: parameters.battery_soc:")
    assert count_samples(sc_a) == 0


def test_bad_item_is_400_naming_index_and_field(api, operator, sc_a, now_minute):
    items = batch(sc_a, now_minute)
    items[1]["parameters"]["battery_soc"] = "full"
    response = post_json(api(operator), items)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "items[1].parameters.battery_soc"
    assert "item 1" in body["detail"] and "number" in body["detail"]
    assert count_samples(sc_a) == 0


def test_timestamp_without_offset_is_400(api, operator, sc_a, now_minute):
    items = batch(sc_a, now_minute)
    items[0]["timestamp"] = "2026-01-01T00:00:00"
    response = post_json(api(operator), items)
    assert response.status_code == 400
    assert response.json()["field"] == "items[0].timestamp"


HUGE = "1" + "0" * 400  # parses as a Python int no double holds


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("battery_soc", HUGE),  # declared float
        ("images_captured", HUGE),  # declared int
        ("sun_angle", HUGE),  # undeclared: registered by this batch
        ("images_captured", str(2**53 + 1)),  # fits a double, but not exactly
        ("battery_soc", "-" + HUGE),
    ],
)
def test_an_integer_beyond_2_to_the_53_is_400_naming_the_field(api, operator, sc_a, now_minute, parameter, value):
    items = batch(sc_a, now_minute)
    items[1]["parameters"][parameter] = "<number>"
    body = json.dumps(items).replace('"<number>"', value)
    response = api(operator).post(URL, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == f"items[1].parameters.{parameter}"
    assert "2**53" in response.json()["detail"]
    assert count_samples(sc_a) == 0
    assert not LatestValue.objects.filter(parameter__spacecraft=sc_a).exists()


def test_large_floats_and_integers_up_to_2_to_the_53_are_stored(api, operator, sc_a, now_minute):
    items = batch(sc_a, now_minute, n=2)
    items[0]["parameters"]["battery_soc"] = 1e300
    items[1]["parameters"]["images_captured"] = 2**53
    response = post_json(api(operator), items)
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 6


def post_msgpack(client, data, **options):
    return client.post(URL, data=msgpack.packb(data, **options), content_type="application/msgpack")


def test_ingest_msgpack_with_string_and_native_timestamps(api, operator, sc_a, now_minute):
    client = api(operator)
    items = batch(sc_a, now_minute)
    response = post_msgpack(client, items)  # ISO 8601 strings, as in JSON
    assert response.status_code == 200, response.content
    assert (response.json()["stored"], response.json()["spacecraft"]) == (9, ["SC-001"])
    later = batch(sc_a, now_minute + dt.timedelta(minutes=1))
    for item in later:  # MessagePack timestamps (extension -1)
        item["timestamp"] = dt.datetime.fromisoformat(item["timestamp"])
    response = post_msgpack(client, later, datetime=True)
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 9
    again = post_msgpack(client, later, datetime=True)  # the same samples: nothing twice
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 9)
    assert count_samples(sc_a) == 18


def test_msgpack_bad_body_and_bad_item_are_400_and_store_nothing(api, operator, sc_a, now_minute):
    client = api(operator)
    response = client.post(URL, data=b"\xc1\x00", content_type="application/msgpack")  # 0xc1: never used
    assert response.status_code == 400
    assert "not MessagePack" in response.json()["detail"]
    items = batch(sc_a, now_minute)
    items[2]["parameters"]["images_captured"] = b"\x01"  # bytes: not a number
    response = post_msgpack(client, items)
    assert response.status_code == 400
    assert response.json()["field"] == "items[2].parameters.images_captured"
    items = batch(sc_a, now_minute)
    items[1]["timestamp"] = 12345
    assert post_msgpack(client, items).json()["field"] == "items[1].timestamp"
    assert count_samples(sc_a) == 0


def test_msgpack_keeps_permissions(api, viewer, stranger, sc_a, now_minute):
    assert post_msgpack(api(viewer), batch(sc_a, now_minute)).status_code == 403
    response = post_msgpack(api(stranger), batch(sc_a, now_minute, ref=str(sc_a.pk)))
    assert (response.status_code, response.json()["field"]) == (400, "items[0].spacecraft")
    assert count_samples(sc_a) == 0


@override_settings(TELEMETRY_MAX_BODY_BYTES=1000)
def test_oversized_body_is_413_naming_the_limit(api, operator, sc_a, now_minute):
    response = post_json(api(operator), batch(sc_a, now_minute, n=50))
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert count_samples(sc_a) == 0


def test_wrong_content_type_is_415(api, operator, sc_a):
    response = api(operator).post(URL, data="a=1", content_type="text/plain")
    assert response.status_code == 415


def test_foreign_spacecraft_is_refused(api, stranger, sc_a, now_minute):
    response = post_json(api(stranger), batch(sc_a, now_minute, ref=str(sc_a.pk)))
    assert response.status_code == 400
    assert response.json()["field"] == "items[0].spacecraft"
    assert count_samples(sc_a) == 0


def test_viewer_gets_403_and_anonymous_401(api, viewer, sc_a, now_minute):
    assert post_json(api(viewer), batch(sc_a, now_minute)).status_code == 403
    assert post_json(api(), batch(sc_a, now_minute)).status_code in (401, 403)
    assert count_samples(sc_a) == 0


@pytest.fixture
def hour_of_data(operator, sc_a):
    """One hour at 1 Hz of a sine on battery_temp, with one spike, ending 2 minutes ago."""
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)
    start = end - dt.timedelta(hours=1)
    items = []
    for i in range(3600):
        value = 20 + 5 * math.sin(i / 300)
        if i == 1234:
            value = 99.0
        items.append(
            {
                "spacecraft": "SC-001",
                "timestamp": iso(start + dt.timedelta(seconds=i)),
                "parameters": {"battery_temp": value},
            }
        )
    scope, may_write = services.writable_scope_for(operator)
    services.ingest(snapshots=items, scope=scope, may_write=may_write)
    return start, end


def test_series_raw_buckets_preserve_min_max(api, viewer, hour_of_data):
    start, end = hour_of_data
    response = api(viewer).get(
        "/api/v1/telemetry/series/",
        {"spacecraft": "SC-001", "parameter": "battery_temp", "start": iso(start), "end": iso(end), "max_points": 100},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["source"] == "raw"
    assert len(data["t"]) <= 100
    assert sum(data["count"]) == 3600
    assert max(data["max"]) == 99.0
    assert min(data["min"]) == pytest.approx(15, abs=0.01)


def test_series_from_rollups_matches_raw(api, viewer, hour_of_data):
    start, end = hour_of_data
    services.roll_up()
    query = {"spacecraft": "SC-001", "parameter": "battery_temp", "start": iso(start), "end": iso(end)}
    rolled = api(viewer).get("/api/v1/telemetry/series/", {**query, "max_points": 20}).json()
    assert rolled["source"] == "rollup"
    assert len(rolled["t"]) <= 20
    assert rolled["bucket_s"] % 60 == 0
    assert sum(rolled["count"]) == 3600
    assert max(rolled["max"]) == 99.0
    raw_avg = sum(a * c for a, c in zip(rolled["avg"], rolled["count"], strict=True)) / 3600
    values = [99.0 if i == 1234 else 20 + 5 * math.sin(i / 300) for i in range(3600)]
    assert raw_avg == pytest.approx(sum(values) / 3600)


def test_series_reads_raw_for_minutes_not_rolled_up(api, viewer, hour_of_data):
    start, end = hour_of_data  # nothing rolled up yet: every minute is pending
    data = (
        api(viewer)
        .get(
            "/api/v1/telemetry/series/",
            {
                "spacecraft": "SC-001",
                "parameter": "battery_temp",
                "start": iso(start),
                "end": iso(end),
                "max_points": 10,
            },
        )
        .json()
    )
    assert data["source"] == "rollup" and sum(data["count"]) == 3600 and max(data["max"]) == 99.0


def test_series_bad_input(api, viewer, sc_a, stranger):
    client = api(viewer)
    url = "/api/v1/telemetry/series/"
    assert client.get(url, {"spacecraft": "SC-001"}).status_code == 400
    assert client.get(url, {"spacecraft": "SC-001", "parameter": "nope"}).status_code == 404
    naive = client.get(url, {"spacecraft": "SC-001", "parameter": "battery_soc", "start": "2026-01-01T00:00:00"})
    assert naive.status_code == 400 and "start" in naive.json()
    assert client.get(url, {"spacecraft": "SC-001", "parameter": "battery_soc", "max_points": 1}).status_code == 400
    assert api(stranger).get(url, {"spacecraft": str(sc_a.pk), "parameter": "battery_soc"}).status_code == 404


def test_series_ending_in_the_first_hour_of_year_1(api, viewer, sc_a):
    client = api(viewer)
    url = "/api/v1/telemetry/series/"
    query = {"spacecraft": "SC-001", "parameter": "battery_soc", "end": "0001-01-01T00:30:00Z"}
    no_start = client.get(url, query)  # the default start (end - 1 h) is no date
    assert no_start.status_code == 400, no_start.content
    assert no_start.json()["field"] == "end"
    given = client.get(url, {**query, "start": "0001-01-01T00:00:00Z"})
    assert given.status_code == 200, given.content
    assert given.json()["count"] == []


def test_latest_values(api, viewer, operator, sc_a, now_minute):
    post_json(api(operator), batch(sc_a, now_minute))
    data = api(viewer).get("/api/v1/telemetry/latest/", {"spacecraft": "SC-001"}).json()
    values = {row["parameter"]: row for row in data["values"]}
    assert values["battery_soc"]["value"] == 82.0
    assert values["battery_soc"]["status"] == "nominal"
    assert values["imaging_mode"]["value"] == "IDLE"
    assert values["bus_voltage"]["value"] is None and values["bus_voltage"]["stale"]
    assert values["battery_soc"]["stale"]  # five minutes old, default staleness 30 s
    assert data["rate"]["total"] is not None


def test_latest_other_organization_404(api, stranger, sc_a):
    assert api(stranger).get("/api/v1/telemetry/latest/", {"spacecraft": str(sc_a.pk)}).status_code == 404


def test_parameters_lists_declared_and_undeclared(api, viewer, operator, sc_a, now_minute):
    item = {"spacecraft": "SC-001", "timestamp": iso(now_minute), "parameters": {"new_thing": 1.5}}
    post_json(api(operator), [item])
    rows = api(viewer).get("/api/v1/telemetry/parameters/", {"spacecraft": "SC-001"}).json()
    declared = {r["name"]: r["declared"] for r in rows}
    assert declared["new_thing"] is False and declared["battery_soc"] is True
    mode = next(r for r in rows if r["name"] == "imaging_mode")
    assert mode["enum_codes"] == mode["enum_values"] == ["IDLE", "IMAGING", "DOWNLINK", "CALIBRATION"]


def test_csv_export(api, viewer, operator, sc_a, now_minute):
    post_json(api(operator), batch(sc_a, now_minute))
    response = api(viewer).get(
        "/api/v1/telemetry/export/",
        {"spacecraft": "SC-001", "start": iso(now_minute), "end": iso(now_minute + dt.timedelta(minutes=1))},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = read_stream(response).splitlines()
    assert lines[0] == "time,spacecraft,parameter,value"
    assert len(lines) == 1 + 9
    assert any(line.endswith(",imaging_mode,IDLE") for line in lines)
    only = api(viewer).get(
        "/api/v1/telemetry/export/",
        {
            "spacecraft": "SC-001",
            "parameter": "battery_soc",
            "start": iso(now_minute),
            "end": iso(now_minute + dt.timedelta(minutes=1)),
        },
    )
    assert len(read_stream(only).splitlines()) == 4


def test_latest_value_untouched_by_rejected_batch(api, operator, sc_a, now_minute):
    items = batch(sc_a, now_minute)
    items[-1]["parameters"]["imaging_mode"] = 3
    assert post_json(api(operator), items).status_code == 400
    assert not LatestValue.objects.exists()
