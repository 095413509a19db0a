"""The anomaly API: list filters, detail, every workflow transition and each illegal one (409),
permissions (viewer 403, other organization 404), bulk actions, counts, analysis."""

import datetime as dt

import pytest
from django.utils import timezone

from anomalies.models import AlarmState, Anomaly
from missionops.models import Event

pytestmark = pytest.mark.django_db
URL = "/api/v1/anomalies/"


def post(client, anomaly, verb, data=None):
    return client.post(f"{URL}{anomaly.pk}/{verb}/", data or {}, format="json")


def test_list_detail_and_filters(api, viewer, alarm, send, limited, t0):
    send(limited, t0, {"battery_temp": [36.0]}, offset_s=10)
    client = api(viewer)
    rows = client.get(URL).json()["results"]
    assert [r["severity"] for r in rows] == ["critical", "warning"]  # most urgent first
    assert rows[0]["threshold"] == "crit_high" and "crit_high" in rows[0]["message"]
    assert [r["parameter"] for r in client.get(URL, {"severity": "warning"}).json()["results"]] == ["battery_temp"]
    assert client.get(URL, {"parameter": "bus_voltage", "detector": "limit"}).json()["count"] == 1
    assert client.get(URL, {"state": ["acknowledged", "resolved"]}).json()["count"] == 0
    assert (
        client.get(URL, {"spacecraft": str(limited.pk), "since": (t0 + dt.timedelta(seconds=5)).isoformat()}).json()[
            "count"
        ]
        == 1
    )
    assert client.get(URL, {"severity": "bogus"}).status_code == 400
    detail = client.get(f"{URL}{alarm.pk}/").json()
    assert detail["timeline"][0]["kind"] == "anomaly.detected"
    assert "battery_soc" not in detail["context"] or detail["context"]["battery_soc"]["units"] == "%"


def test_workflow_transitions_and_illegal_ones(api, operator, alarm):
    client = api(operator)
    r = post(client, alarm, "acknowledge", {"note": "looking"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "operator"
    r = post(client, alarm, "acknowledge")
    assert r.status_code == 409 and "acknowledged" in r.json()["detail"]
    r = post(client, alarm, "shelve", {"duration_s": 600})
    assert r.status_code == 200 and r.json()["state"] == "shelved" and r.json()["shelved_until"]
    assert post(client, alarm, "shelve", {"duration_s": 600}).status_code == 409
    assert post(client, alarm, "acknowledge").status_code == 409
    r = post(client, alarm, "unshelve")
    assert r.json()["state"] == "acknowledged"  # back where it was shelved from
    assert post(client, alarm, "unshelve").status_code == 409
    r = post(client, alarm, "comment", {"text": "bus regulator swap planned"})
    assert r.status_code == 201 and r.json()["author"] == "operator"
    r = post(client, alarm, "assign", {"assignee": "operator"})
    assert r.json()["assignee"] == "operator"
    r = post(client, alarm, "tags", {"tags": ["Power", "eclipse"]})
    assert r.json()["tags"] == ["eclipse", "power"]
    r = post(client, alarm, "resolve", {"note": "done"})
    assert r.json()["state"] == "resolved" and r.json()["resolved_by"] == "operator"
    for verb in ("resolve", "acknowledge", "shelve", "unshelve"):
        r = post(client, alarm, verb, {"duration_s": 60})
        assert r.status_code == 409 and "resolved" in r.json()["detail"], verb
    kinds = list(Event.objects.filter(subject_id=str(alarm.pk)).order_by("created_at").values_list("kind", flat=True))
    assert kinds == [
        "anomaly.detected",
        "anomaly.acknowledged",
        "anomaly.shelved",
        "anomaly.unshelved",
        "anomaly.commented",
        "anomaly.assigned",
        "anomaly.tagged",
        "anomaly.resolved",
    ]
    timeline = client.get(f"{URL}{alarm.pk}/").json()["timeline"]
    assert [t["kind"] for t in timeline] == kinds and timeline[1]["note"] == "looking"


def test_open_can_be_shelved_and_resolved_directly(api, operator, alarm):
    client = api(operator)
    assert post(client, alarm, "shelve", {"duration_s": 60}).json()["state"] == "shelved"
    assert post(client, alarm, "resolve").json()["state"] == "resolved"


def test_bad_input_writes_nothing(api, operator, alarm, viewer):
    client = api(operator)
    past = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    r = post(client, alarm, "shelve", {"until": past})
    assert r.status_code == 400 and r.json()["field"] == "until"
    r = post(client, alarm, "shelve", {"until": (timezone.now() + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 400
    assert post(client, alarm, "shelve").status_code == 400
    assert post(client, alarm, "comment", {"text": ""}).status_code == 400
    r = post(client, alarm, "assign", {"assignee": "viewer"})  # not an operator
    assert r.status_code == 400 and r.json()["field"] == "assignee"
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN and alarm.assignee is None and not alarm.comments.exists()


def test_viewer_403_and_other_organization_404(api, viewer, stranger, alarm):
    for verb in ("acknowledge", "resolve", "comment", "unshelve", "assign", "tags"):
        assert post(api(viewer), alarm, verb, {"text": "x", "assignee": None, "tags": []}).status_code == 403, verb
    assert post(api(viewer), alarm, "shelve", {"duration_s": 60}).status_code == 403
    assert api(stranger).get(f"{URL}{alarm.pk}/").status_code == 404
    assert api(stranger).get(URL).json()["count"] == 0
    for verb in ("acknowledge", "shelve", "resolve", "comment"):
        assert post(api(stranger), alarm, verb, {"duration_s": 60, "text": "x"}).status_code == 404
    r = api(stranger).post(f"{URL}bulk/", {"action": "resolve", "ids": [alarm.pk]}, format="json")
    assert r.status_code == 404
    assert api().get(URL).status_code in (401, 403)
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN


def test_bulk_selection_and_filter(api, operator, viewer, alarm, send, limited, t0):
    send(limited, t0, {"battery_temp": [36.0]}, offset_s=10)
    warning = Anomaly.objects.get(parameter_name="battery_temp")
    client = api(operator)
    r = client.post(f"{URL}bulk/", {"action": "acknowledge", "ids": [alarm.pk]}, format="json")
    assert r.json() == {"action": "acknowledge", "changed": [alarm.pk], "skipped": []}
    r = client.post(f"{URL}bulk/", {"action": "acknowledge", "filter": {"spacecraft": str(limited.pk)}}, format="json")
    assert r.json()["changed"] == [warning.pk] and r.json()["skipped"] == [{"id": alarm.pk, "state": "acknowledged"}]
    r = client.post(
        f"{URL}bulk/", {"action": "shelve", "duration_s": 300, "filter": {"severity": "warning"}}, format="json"
    )
    assert r.json()["changed"] == [warning.pk]
    assert api(viewer).post(f"{URL}bulk/", {"action": "resolve", "filter": {}}, format="json").status_code == 403
    assert client.post(f"{URL}bulk/", {"action": "resolve"}, format="json").status_code == 400
    assert client.post(f"{URL}bulk/", {"action": "explode", "ids": [1]}, format="json").status_code == 400
    r = client.post(
        f"{URL}bulk/", {"action": "resolve", "filter": {"state": ["acknowledged", "shelved"]}}, format="json"
    )
    assert sorted(r.json()["changed"]) == sorted([alarm.pk, warning.pk])
    assert set(Anomaly.objects.values_list("state", flat=True)) == {"resolved"}


def test_counts(api, viewer, alarm):
    assert api(viewer).get(f"{URL}counts/").json() == {
        "open": 1,
        "open_critical": 1,
        "open_warning": 0,
        "acknowledged": 0,
        "shelved": 0,
        "active": 1,
    }


def test_analyze_endpoint(api, viewer, stranger, limited, send, t0):
    send(limited, t0, {"bus_voltage": [28, 33, 33, 28, 28, 28]})
    before = Anomaly.objects.count()
    r = api(viewer).get("/api/v1/telemetry/analyze/", {"spacecraft": limited.designation, "limit": 50})
    assert r.status_code == 200
    assert any(f["detector"] == "limit" and f["threshold"] == "crit_high" for f in r.json()["findings"])
    assert Anomaly.objects.count() == before
    assert (
        api(viewer).get("/api/v1/telemetry/analyze/", {"spacecraft": limited.designation, "limit": 0}).status_code
        == 400
    )
    assert api(viewer).get("/api/v1/telemetry/analyze/").status_code == 400
    assert api(stranger).get("/api/v1/telemetry/analyze/", {"spacecraft": str(limited.pk)}).status_code == 404


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"since": ["2024-01-01T00:00:00Z"]}, "filter.since"),
        ({"since": 5}, "filter.since"),
        ({"since": {"a": 1}}, "filter.since"),
        ({"active": {}}, "filter.active"),
        ({"active": [True]}, "filter.active"),
        ({"state": [5]}, "filter.state"),
        ({"state": [["open"]]}, "filter.state"),
        ({"stat": "open"}, "filter.stat"),  # misspelled: must not widen the action to every alarm
        ({"until": "9999-12-31T23:59:59+23:00"}, "filter.until"),
    ],
)
def test_bulk_filter_of_wrong_type_is_400_naming_it(api, operator, alarm, given, field):
    r = api(operator).post(f"{URL}bulk/", {"action": "resolve", "filter": given}, format="json")
    assert r.status_code == 400 and r.json()["field"] == field
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN


def test_bulk_filter_takes_json_scalars(api, operator, alarm):
    client = api(operator)
    r = client.post(f"{URL}bulk/", {"action": "acknowledge", "filter": {"active": False, "late": False}}, format="json")
    assert r.status_code == 200 and r.json()["changed"] == []
    r = client.post(
        f"{URL}bulk/", {"action": "acknowledge", "filter": {"active": True, "state": "open"}}, format="json"
    )
    assert r.status_code == 200 and r.json()["changed"] == [alarm.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"until": "9999-12-31T23:59:59+23:00"}, "until"),
        ({"since": "2024-01-01T00:00:00-16:00"}, "since"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),  # before year 1 in UTC
        ({"until": "9999-12-31T23:59:00-15:00"}, "until"),  # after 9999 in UTC
    ],
)
def test_list_refuses_times_postgresql_cannot_take(api, client, viewer, alarm, query, field):
    r = api(viewer).get(URL, query)
    assert r.status_code == 400 and r.json()["field"] == field
    client.force_login(viewer)
    page = client.get("/alarms/", query)
    assert page.status_code == 200
    assert f"{field}: " in page.content.decode() and "bus_voltage" not in page.content.decode()


def test_list_takes_offsets_postgresql_takes(api, viewer, alarm):
    since = (alarm.started_at - dt.timedelta(seconds=1)).astimezone(dt.timezone(dt.timedelta(hours=15, minutes=59)))
    r = api(viewer).get(URL, {"since": since.isoformat()})
    assert r.status_code == 200 and r.json()["count"] == 1


def test_active_since_filters_episodes_overlapping_a_range(api, viewer, limited, send, t0):
    send(limited, t0, {"bus_voltage": [33, 33, 28, 28, 28]})  # cleared at t0+4
    send(limited, t0, {"battery_temp": [40.0]}, offset_s=1)  # latched: not cleared
    client = api(viewer)
    rows = client.get(URL, {"active_since": (t0 + dt.timedelta(seconds=4)).isoformat()}).json()["results"]
    assert sorted(r["parameter"] for r in rows) == ["battery_temp", "bus_voltage"]
    rows = client.get(URL, {"active_since": (t0 + dt.timedelta(seconds=5)).isoformat()}).json()["results"]
    assert [r["parameter"] for r in rows] == ["battery_temp"]


def test_assign_answers_the_same_for_another_organizations_user_and_an_unknown_name(
    api, operator, viewer, stranger, alarm
):
    client = api(operator)
    theirs = post(client, alarm, "assign", {"assignee": "stranger"})
    unknown = post(client, alarm, "assign", {"assignee": "nobody-here"})
    assert theirs.status_code == unknown.status_code == 400
    assert theirs.json()["field"] == unknown.json()["field"] == "assignee"
    assert theirs.json()["detail"].replace("stranger", "X") == unknown.json()["detail"].replace("nobody-here", "X")
    # A viewer learns nothing either: 403 before any name is looked up.
    assert post(api(viewer), alarm, "assign", {"assignee": "nobody-here"}).status_code == 403
    assert post(client, alarm, "assign", {"assignee": "operator"}).json()["assignee"] == "operator"
    alarm.refresh_from_db()
    assert alarm.assignee == operator


def test_detail_queries_do_not_grow_with_comments(api, operator, alarm):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anomalies.models import AnomalyComment

    client = api(operator)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            r = client.get(f"{URL}{alarm.pk}/")
        assert r.status_code == 200
        return len(captured.captured_queries), r.json()["comments"]

    AnomalyComment.objects.create(anomaly=alarm, author=operator, text="first")
    few, _ = queries()
    for i in range(10):
        AnomalyComment.objects.create(anomaly=alarm, author=operator, text=str(i))
    many, comments = queries()
    assert many == few
    assert [c["author"] for c in comments] == ["operator"] * 11 and comments[0]["text"] == "first"


def test_analyze_command_unknown_spacecraft_is_a_command_error(sc_a):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no spacecraft 'NOPE'"):
        call_command("analyze_telemetry", "--spacecraft", "NOPE")
    with pytest.raises(CommandError, match="no spacecraft"):
        call_command("analyze_telemetry", "--spacecraft", "00000000-0000-0000-0000-000000000000")
    call_command("analyze_telemetry", "--spacecraft", str(sc_a.pk))  # an id still works
