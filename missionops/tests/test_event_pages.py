"""The events page: server-side pages, sorting, filters, a sentence per event, JSON behind a disclosure."""

import pytest

from missionops.event_text import describe
from missionops.models import Event
from missionops.services import record_event


@pytest.fixture
def many_events(org_a, sc_a):
    for i in range(120):
        record_event(
            organization=org_a,
            kind="mode.changed",
            subject=sc_a,
            payload={"from": "nominal", "to": "safe", "reason": f"r{i}"},
        )


def test_events_are_paginated_with_a_count(client, viewer, many_events):
    client.force_login(viewer)
    from missionops.tenancy import visible_events

    total = visible_events(viewer).count()
    body = client.get("/events/").content.decode()
    assert f"1–50 of {total}" in body and body.count("<tr><td><time") == 50
    last = (total + 49) // 50
    page = client.get(f"/events/?page={last}&sort=-time").content.decode()
    assert f"of {total}" in page and f"page {last} of {last}" in page
    assert "of " in client.get("/events/?page=9999").content.decode()  # past the end: the last page
    assert client.get("/events/?page=abc").status_code == 200


def test_events_sort_by_kind_and_keep_filters_in_links(client, viewer, many_events):
    client.force_login(viewer)
    body = client.get("/events/?kind=mode.&sort=kind").content.decode()
    assert 'aria-sort="ascending"' in body and "kind=mode." in body
    assert "spacecraft.created" not in body.split("<tbody")[1]


def test_event_row_has_a_sentence_and_details_behind_a_disclosure(client, viewer, org_a, sc_a):
    record_event(
        organization=org_a,
        kind="mode.changed",
        subject=sc_a,
        payload={"from": "nominal", "to": "safe", "reason": "battery"},
    )
    client.force_login(viewer)
    body = client.get("/events/?kind=mode.changed").content.decode()
    assert "SC-001 Test SC-001 went from nominal to safe mode (battery)" in body
    assert '<details class="payload"><summary>Details</summary><table class="kv">' in body
    assert "{&#x27;" not in body and "{'" not in body  # no Python repr


def test_bad_filter_value_is_named_inline(client, viewer, sc_a):
    client.force_login(viewer)
    response = client.get("/events/?since=yesterday")
    assert response.status_code == 200 and "since:" in response.content.decode()


def test_api_event_carries_the_sentence(api, viewer, org_a, sc_a):
    response = api(viewer).get("/api/v1/events/?kind=spacecraft.created")
    (row,) = response.json()["results"]
    assert row["summary"] == describe(Event.objects.get(pk=row["id"]))


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("command.queued", {"command": "ping", "release_mode": "next_contact"},
         "alice queued ping at the next contact"),
        ("command.failed", {"command": "ping", "reason": "refused"}, "Command ping failed: refused"),
        ("tle.imported", {"source": "api", "imported": 3, "refused": 1},
         "alice imported 3 element sets (1 refused) from api"),
        ("anomaly.detected", {"severity": "critical", "designation": "SC-1", "parameter": "t", "message": "hot"},
         "Critical alarm on SC-1 t opened: hot"),
        ("pass.started", {"designation": "SC-1", "station_name": "Wallops", "max_elevation_deg": 41.23},
         "AOS: SC-1 over Wallops, max elevation 41.23°"),
        ("station.created", {}, "alice created station Wallops"),
        ("something.odd", {"x": 1}, "Something odd Wallops"),
        ("mode.changed", {"from": None}, "Wallops went from None to ? mode (no reason)"),
    ],
)  # fmt: skip
def test_sentences(kind, payload, expected):
    event = Event(kind=kind, payload=payload, actor_repr="alice", subject_repr="Wallops")
    assert describe(event) == expected
