import pytest

from missionops.testing import PASSWORD


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_pages_need_login(client, db):
    for path in ["/fleet/", "/events/", "/telemetry/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_page_and_logout(client, viewer):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"  # the overview
    assert client.post("/logout/").status_code == 302
    assert client.get("/fleet/").status_code == 302


def test_fleet_page_groups_by_mode_and_shows_only_own_spacecraft(logged_in, viewer, sc_a, make_spacecraft, org_b):
    make_spacecraft(org_b, "SC-999", name="Foreign")
    page = logged_in(viewer).get("/fleet/").content.decode()
    assert f'id="sc-{sc_a.pk}"' in page and 'data-mode="nominal"' in page
    assert "SC-999" not in page and "Foreign" not in page
    for area in ["Fleet", "Telemetry", "Alarms", "Orbits", "Jobs", "Telescopes", "Documents", "Events"]:
        assert f">{area}</a>" in page


def test_spacecraft_page_shows_state_config_history_and_events(logged_in, operator, sc_a):
    page = logged_in(operator).get(f"/spacecraft/{sc_a.pk}/").content.decode()
    assert "SC-001" in page and "bus_voltage" in page and "v1" in page and "spacecraft.created" in page


def test_spacecraft_page_of_another_organization_is_404(logged_in, stranger, sc_a):
    assert logged_in(stranger).get(f"/spacecraft/{sc_a.pk}/").status_code == 404


def test_events_page_lists_own_events_only(logged_in, viewer, stranger, sc_a):
    assert "spacecraft.created" in logged_in(viewer).get("/events/").content.decode()


def test_admin_pages_render_for_every_model(admin_client, sc_a):
    for path in [
        "/admin/missionops/organization/",
        "/admin/missionops/membership/",
        "/admin/missionops/event/",
        "/admin/spacecraft/spacecraft/",
        "/admin/spacecraft/configversion/",
        "/admin/spacecraft/constellation/",
        f"/admin/spacecraft/spacecraft/{sc_a.pk}/change/",
        f"/admin/spacecraft/spacecraft/{sc_a.pk}/permissions/",
        "/admin/spacecraft/spacecraft/?q=SC-001",
        "/admin/missionops/event/?kind=spacecraft.created",
    ]:
        assert admin_client.get(path).status_code == 200, path
    assert admin_client.get("/admin/missionops/event/add/").status_code == 403


def test_admin_creates_organization_membership_and_spacecraft_through_services(admin_client, make_user):
    from django.contrib.auth import get_user_model

    from missionops.models import Event, Organization
    from spacecraft.models import Spacecraft

    user = make_user("newcomer")
    response = admin_client.post(
        "/admin/missionops/organization/add/",
        {
            "name": "Org C",
            "slug": "org-c",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": user.pk,
            "memberships-0-role": "operator",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    org = Organization.objects.get(slug="org-c")
    assert org.viewers_group and org.operators_group
    user = get_user_model().objects.get(pk=user.pk)
    assert org.operators_group in user.groups.all()
    response = admin_client.post(
        "/admin/spacecraft/spacecraft/add/",
        {
            "organization": org.pk,
            "designation": "SC-777",
            "name": "Admin made",
            "mission_type": "CUBESAT",
            "safe_soc_threshold_pct": 20,
            "survival_soc_threshold_pct": 10,
            "runtime": "{}",
            "config_versions-TOTAL_FORMS": "0",
            "config_versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    sc = Spacecraft.objects.get(designation="SC-777")
    assert user.has_perm("spacecraft.operate_spacecraft", sc)
    assert Event.objects.filter(kind="spacecraft.created", subject_id=str(sc.pk)).exists()
    assert Event.objects.filter(kind="security.membership.created", organization=org).exists()
