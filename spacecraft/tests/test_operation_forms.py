"""Mode change and configuration edit from the spacecraft page: the API's rules, errors inline,
a diff before saving, nothing written on bad input, other organizations 404, viewers 403."""

import json

import pytest

from spacecraft.models import ConfigVersion


def test_operator_changes_mode(client, operator, sc_a):
    client.force_login(operator)
    response = client.post(f"/spacecraft/{sc_a.pk}/mode/", {"mode": "standby", "reason": "pass prep"})
    assert response.status_code == 302
    sc_a.refresh_from_db()
    assert sc_a.mode == "standby"
    assert "now in standby mode" in client.get(response["Location"]).content.decode()


def test_mode_the_battery_forbids_is_refused_with_the_reason(client, operator, sc_a):
    from spacecraft.services import update_state

    update_state(spacecraft=sc_a, battery_soc_pct=5.0)
    client.force_login(operator)
    response = client.post(f"/spacecraft/{sc_a.pk}/mode/", {"mode": "nominal"}, follow=True)
    sc_a.refresh_from_db()
    body = response.content.decode()
    assert sc_a.mode == "survival" and 'id="id_mode-error"' in body and "cannot enter nominal" in body


def test_unknown_mode_is_named(client, operator, sc_a):
    client.force_login(operator)
    response = client.post(f"/spacecraft/{sc_a.pk}/mode/", {"mode": "warp"}, follow=True)
    body = response.content.decode()
    assert 'id="id_mode-error"' in body and "Select a valid choice" in body


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("stranger", 404)])
def test_mode_change_needs_operate_in_the_organization(client, request, who, status, sc_a):
    client.force_login(request.getfixturevalue(who))
    assert client.post(f"/spacecraft/{sc_a.pk}/mode/", {"mode": "standby"}).status_code == status
    assert client.get(f"/spacecraft/{sc_a.pk}/config/").status_code == status


def test_config_edit_previews_the_diff_then_saves(client, operator, sc_a):
    client.force_login(operator)
    page = client.get(f"/spacecraft/{sc_a.pk}/config/").content.decode()
    assert "bus_voltage" in page and "Preview changes" in page
    parameters = sc_a.current_config.parameters
    parameters["bus_voltage"]["warn_high"] = 29.0
    parameters["new_temp"] = {"subsystem": "thermal", "units": "degC", "type": "float"}
    body = {"parameters": json.dumps(parameters), "note": "tighter bus"}
    preview = client.post(f"/spacecraft/{sc_a.pk}/config/", body).content.decode()
    assert "Changes to save" in preview and "new_temp" in preview and "warn_high" in preview
    assert ConfigVersion.objects.filter(spacecraft=sc_a).count() == 1  # a preview saves nothing
    saved = client.post(f"/spacecraft/{sc_a.pk}/config/", {**body, "confirmed": "on"})
    assert saved.status_code == 302
    assert sc_a.current_config.version == 2 and sc_a.current_config.note == "tighter bus"


def test_config_errors_sit_next_to_the_field_and_save_nothing(client, operator, sc_a):
    client.force_login(operator)
    bad_json = client.post(f"/spacecraft/{sc_a.pk}/config/", {"parameters": '{"a": ', "confirmed": "on"})
    assert "not JSON: line 1 column" in bad_json.content.decode()
    parameters = sc_a.current_config.parameters
    parameters["bus_voltage"]["warn_low"] = 40.0
    bad_limits = client.post(
        f"/spacecraft/{sc_a.pk}/config/", {"parameters": json.dumps(parameters), "confirmed": "on"}
    ).content.decode()
    assert 'id="id_parameters-error"' in bad_limits and "bus_voltage.warn_low" in bad_limits
    assert ConfigVersion.objects.filter(spacecraft=sc_a).count() == 1
