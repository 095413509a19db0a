"""Live messages about a spacecraft carry the REST representations: `state` the spacecraft (less
the caller's own `can_operate`), `command` the command, with the server's `can_cancel`."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_state_message_is_the_spacecraft_as_the_api_shows_it(
    api, operator, sc_a, live_sent, django_capture_on_commit_callbacks
):
    client = api(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"battery_soc_pct": 14.0}, format="json")
    assert response.status_code == 200
    shown = client.get(f"/api/v1/spacecraft/{sc_a.pk}/").json()
    assert shown.pop("can_operate") is True  # the caller's own: not in a message every viewer hears
    fleet = [m for topic, m in live_sent if topic == "fleet"]
    page = [m for topic, m in live_sent if topic == f"sc.{sc_a.pk}" and m["kind"] == "state"]
    assert fleet[-1] == page[-1] == {"kind": "state", "data": shown}
    assert shown["mode"] == "safe" and shown["battery_soc_pct"] == 14.0


def test_a_command_message_is_the_command_as_the_api_shows_it(
    api, operator, make_user, org_a, sc_a, live_sent, django_capture_on_commit_callbacks
):
    second = make_user("second-op", org_a, "operator")
    body = {"spacecraft": str(sc_a.pk), "name": "rw_reset", "args": {"wheel": 1}, "release_mode": "next_contact"}
    with django_capture_on_commit_callbacks(execute=True):
        created = api(operator).post("/api/v1/commands/", body, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/commands/{created.json()['id']}/"

    def on_page():
        return [m for topic, m in live_sent if topic == f"sc.{sc_a.pk}" and m["kind"] == "command"]

    assert on_page() == [{"kind": "command", "data": api(operator).get(url).json()}]
    assert on_page()[0]["data"]["awaiting_approval"] and on_page()[0]["data"]["can_cancel"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api(second).post(url + "approve/").status_code == 200
    approved = on_page()[-1]["data"]
    assert approved == api(operator).get(url).json()
    assert approved["approved_by"] == "second-op" and not approved["awaiting_approval"] and approved["can_cancel"]


def test_a_config_message_is_the_new_version_as_the_api_shows_it(
    api, operator, sc_a, live_sent, django_capture_on_commit_callbacks
):
    client = api(operator)
    parameters = client.get(f"/api/v1/spacecraft/{sc_a.pk}/config/").json()["parameters"]
    name = next(iter(parameters))
    parameters[name] = {**parameters[name], "warn_high": 99.0}
    with django_capture_on_commit_callbacks(execute=True):
        created = client.put(f"/api/v1/spacecraft/{sc_a.pk}/config/", {"parameters": parameters}, format="json")
    assert created.status_code == 201, created.json()
    [message] = [m for topic, m in live_sent if topic == f"sc.{sc_a.pk}" and m["kind"] == "config"]
    assert message == {"kind": "config", "data": created.json()}
    assert message["data"]["diff"] and client.get(f"/api/v1/spacecraft/{sc_a.pk}/config/").json() == created.json()
