import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from missionops.models import Event
from spacecraft import services
from spacecraft.models import ConfigVersion, Spacecraft

NEW = {"designation": "SC-200", "name": "Borealis", "mission_type": "LEO_IMAGING", "norad_id": 50001}
VOLTAGE = {"bus_voltage": {"subsystem": "power", "units": "V", "warn_low": 27, "warn_high": 29, "crit_low": 26}}


def url(sc, suffix=""):
    return f"/api/v1/spacecraft/{sc.pk}/{suffix}"


def test_unauthenticated_is_refused(api, sc_a):
    assert api().get("/api/v1/spacecraft/").status_code in (401, 403)


def test_list_shows_only_own_organization(api, owner, stranger, sc_a, make_spacecraft, org_b):
    make_spacecraft(org_b, "SC-900")
    mine = api(owner).get("/api/v1/spacecraft/").json()
    theirs = api(stranger).get("/api/v1/spacecraft/").json()
    assert [s["designation"] for s in mine["results"]] == ["SC-001"]
    assert [s["designation"] for s in theirs["results"]] == ["SC-900"]
    assert mine["results"][0]["mode"] == "nominal" and mine["results"][0]["config_version"] == 1


def test_list_reads_config_versions_in_a_constant_number_of_queries(
    api, viewer, org_a, sc_a, make_spacecraft, django_assert_max_num_queries
):
    client = api(viewer)
    make_spacecraft(org_a, "SC-100")
    services.change_config(spacecraft=sc_a, parameters={**sc_a.current_config.parameters, **VOLTAGE})
    client.get("/api/v1/spacecraft/")  # warm the per-process caches (content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/spacecraft/").status_code == 200
    for n in range(101, 111):
        make_spacecraft(org_a, f"SC-{n}")
    with django_assert_max_num_queries(len(few)):
        response = client.get("/api/v1/spacecraft/")
    results = response.json()["results"]
    assert len(results) == 12
    assert {s["designation"]: s["config_version"] for s in results} == {
        "SC-001": 2,
        **{f"SC-{n}": 1 for n in range(100, 111)},
    }
    assert all(s["can_operate"] is False for s in results)


def test_admin_creates_updates_and_deletes(api, owner):
    client = api(owner)
    created = client.post("/api/v1/spacecraft/", NEW, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["organization"] == "org-a" and body["mode"] == "nominal" and body["can_operate"] is True
    sc = Spacecraft.objects.get(pk=body["id"])
    patched = client.patch(url(sc), {"name": "Borealis-A"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "Borealis-A"
    assert Event.objects.filter(kind="spacecraft.updated", subject_id=str(sc.pk)).exists()
    assert client.delete(url(sc)).status_code == 204
    assert not Spacecraft.objects.filter(pk=sc.pk).exists()
    assert Event.objects.filter(kind="spacecraft.deleted", subject_id=str(sc.pk)).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({**NEW, "mission_type": "WARP_DRIVE"}, "mission_type"),
        ({**NEW, "designation": "sc 1"}, "designation"),
        ({**NEW, "norad_id": -5}, "norad_id"),
        ({k: v for k, v in NEW.items() if k != "name"}, "name"),
        ({**NEW, "safe_soc_threshold_pct": 5, "survival_soc_threshold_pct": 9}, "survival_soc_threshold_pct"),
        ({**NEW, "organization": "org-b"}, "organization"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api, owner, org_b, body, field):
    before = Spacecraft.objects.count(), Event.objects.count()
    response = api(owner).post("/api/v1/spacecraft/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json().get("errors", response.json())
    assert (Spacecraft.objects.count(), Event.objects.count()) == before


def test_duplicate_designation_is_409_naming_the_field(api, owner, sc_a):
    response = api(owner).post("/api/v1/spacecraft/", {**NEW, "designation": "SC-001"}, format="json")
    assert response.status_code == 409 and response.json()["field"] == "designation"


def test_other_organization_is_404_everywhere(api, stranger, sc_a):
    client = api(stranger)
    for method, suffix, body in [
        ("get", "", None),
        ("patch", "", {"name": "x"}),
        ("delete", "", None),
        ("post", "state/", {"mode": "safe"}),
        ("get", "config/", None),
        ("put", "config/", {"parameters": VOLTAGE}),
        ("get", "config/history/", None),
    ]:
        response = getattr(client, method)(url(sc_a, suffix), body, format="json")
        assert response.status_code == 404, (method, suffix, response.status_code)
    sc_a.refresh_from_db()
    assert sc_a.mode == "nominal" and sc_a.current_config.version == 1


def test_viewer_cannot_change_config_or_state_or_registry(api, viewer, sc_a):
    client = api(viewer)
    assert client.get(url(sc_a, "config/")).status_code == 200
    assert client.put(url(sc_a, "config/"), {"parameters": VOLTAGE}, format="json").status_code == 403
    assert client.post(url(sc_a, "state/"), {"mode": "safe"}, format="json").status_code == 403
    assert client.patch(url(sc_a), {"name": "x"}, format="json").status_code == 403
    assert client.delete(url(sc_a)).status_code == 403
    assert client.post("/api/v1/spacecraft/", NEW, format="json").status_code == 403
    assert ConfigVersion.objects.filter(spacecraft=sc_a).count() == 1


def test_operator_changes_config_and_reads_history(api, operator, sc_a):
    client = api(operator)
    response = client.put(url(sc_a, "config/"), {"parameters": VOLTAGE, "note": "trim"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2 and "battery_soc" in response.json()["diff"]["removed"]
    history = client.get(url(sc_a, "config/history/")).json()["results"]
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["created_by"] == "operator" and history[0]["note"] == "trim"
    assert client.get(url(sc_a, "config/")).json()["parameters"] == {
        "bus_voltage": {
            "subsystem": "power",
            "units": "V",
            "type": "float",
            "warn_low": 27,
            "warn_high": 29,
            "crit_low": 26,
        }
    }


def test_invalid_config_is_400_naming_the_parameter_and_writes_nothing(api, operator, sc_a):
    bad = {"bus_voltage": {"subsystem": "power", "warn_low": 30, "warn_high": 29}}
    response = api(operator).put(url(sc_a, "config/"), {"parameters": bad}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "parameters.bus_voltage.warn_low"
    assert ConfigVersion.objects.filter(spacecraft=sc_a).count() == 1
    assert not Event.objects.filter(kind="config.changed").exists()


def test_operator_state_update_applies_mode_rules(api, operator, sc_a):
    response = api(operator).post(url(sc_a, "state/"), {"battery_soc_pct": 12.5}, format="json")
    assert response.status_code == 200 and response.json()["mode"] == "safe"
    conflict = api(operator).post(url(sc_a, "state/"), {"mode": "nominal"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["field"] == "mode"
    bad = api(operator).post(url(sc_a, "state/"), {"battery_soc_pct": 140}, format="json")
    assert bad.status_code == 400 and "battery_soc_pct" in bad.json()


def test_events_api_filters_and_cursor_pages(api, operator, stranger, sc_a, make_spacecraft, org_a):
    other = make_spacecraft(org_a, "SC-002")
    for soc in (15, 5):
        api(operator).post(url(sc_a, "state/"), {"battery_soc_pct": soc}, format="json")
    client = api(operator)
    modes = client.get("/api/v1/events/", {"kind": "mode.changed"}).json()["results"]
    assert [e["payload"]["to"] for e in modes] == ["survival", "safe"]
    assert all(e["spacecraft"] == str(sc_a.pk) for e in modes)
    by_prefix = client.get("/api/v1/events/", {"kind": "spacecraft."}).json()["results"]
    assert {e["subject_id"] for e in by_prefix} == {str(sc_a.pk), str(other.pk)}
    for_other = client.get("/api/v1/events/", {"spacecraft": str(other.pk)}).json()["results"]
    assert [e["kind"] for e in for_other] == ["spacecraft.created"]
    page = client.get("/api/v1/events/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    assert not {e["id"] for e in rest["results"]} & {e["id"] for e in page["results"]}
    assert client.get("/api/v1/events/", {"since": "not-a-date"}).status_code == 400
    assert api(stranger).get("/api/v1/events/", {"kind": "mode.changed"}).json()["results"] == []


def test_constellations_are_scoped(api, owner, stranger):
    created = api(owner).post("/api/v1/constellations/", {"name": "Aurora"}, format="json")
    assert created.status_code == 201
    cid = created.json()["id"]
    assert api(stranger).get(f"/api/v1/constellations/{cid}/").status_code == 404
    response = api(stranger).post("/api/v1/spacecraft/", {**NEW, "constellation": cid}, format="json")
    assert response.status_code == 400 and "constellation" in response.json()


def test_schema_lists_every_route_and_docs_render_offline(api, owner):
    client = api(owner)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/v1/spacecraft/",
        "/api/v1/spacecraft/{id}/",
        "/api/v1/spacecraft/{id}/state/",
        "/api/v1/spacecraft/{id}/config/",
        "/api/v1/spacecraft/{id}/config/history/",
        "/api/v1/constellations/",
        "/api/v1/events/",
        "/api/v1/organizations/",
    ]:
        assert path in schema["paths"], path
    assert schema["components"]["schemas"]["SpacecraftModeEnum"]["enum"] == ["nominal", "safe", "survival", "standby"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/drf_spectacular_sidecar/" in docs.content


def test_a_limit_no_double_holds_is_400_naming_it(api, operator, sc_a):
    body = '{"parameters": {"x": {"subsystem": "power", "warn_low": 1%s}}}' % ("0" * 400)
    response = api(operator).put(url(sc_a, "config/"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "parameters.x.warn_low"
    assert ConfigVersion.objects.filter(spacecraft=sc_a).count() == 1
