"""The alarm console and anomaly page: listing, filters, partial refresh, scoping, actions shown
only to operators; the admin's actions go through the workflow."""

import pytest

from anomalies.models import AlarmState

pytestmark = pytest.mark.django_db


def test_console_lists_and_filters(client, viewer, alarm):
    client.force_login(viewer)
    page = client.get("/alarms/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "bus_voltage" in body and "crit_high" in body and "js/anomalies.js" in body
    assert 'data-act="acknowledge"' not in body  # a viewer sees no actions
    assert "bus_voltage" not in client.get("/alarms/", {"severity": "warning"}).content.decode()
    partial = client.get("/alarms/", {"partial": "rows"}).content.decode()
    assert partial.startswith('<div id="alarm-rows"') and "<html" not in partial
    assert "bus_voltage" in client.get(f"/alarms/{alarm.pk}/").content.decode()


def test_operator_sees_actions_and_other_org_sees_nothing(client, operator, stranger, alarm):
    client.force_login(operator)
    assert 'data-act="acknowledge"' in client.get("/alarms/").content.decode()
    client.force_login(stranger)
    assert "bus_voltage" not in client.get("/alarms/").content.decode()
    assert client.get(f"/alarms/{alarm.pk}/").status_code == 404


def test_login_required(client):
    assert client.get("/alarms/").status_code == 302


def test_admin_actions_use_the_workflow(admin_client, alarm, org_a):
    from django.contrib.auth import get_user_model

    from missionops.services import set_membership

    admin = get_user_model().objects.get(username="admin")
    set_membership(organization=org_a, user=admin, role="admin")
    response = admin_client.post(
        "/admin/anomalies/anomaly/", {"action": "acknowledge", "_selected_action": [alarm.pk]}, follow=True
    )
    assert response.status_code == 200
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED
    assert admin_client.get("/admin/anomalies/anomaly/?state=acknowledged").status_code == 200


def test_console_takes_a_constant_number_of_queries(
    client, make_user, org_a, org_b, make_spacecraft, alarm, django_assert_max_num_queries
):
    """Operator in A, viewer in B: which spacecraft the user may operate is read for all of them at
    once, not with a permission check (two queries) per spacecraft."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from missionops.services import set_membership

    user = make_user("both", org_a, "operator")
    set_membership(organization=org_b, user=user, role="viewer")
    make_spacecraft(org_b)  # with `alarm`'s spacecraft in A: two
    client.force_login(user)
    client.get("/alarms/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get("/alarms/")
    few = len(few.captured_queries)
    for _ in range(5):
        make_spacecraft(org_a)
        make_spacecraft(org_b)
    with django_assert_max_num_queries(few):
        page = client.get("/alarms/").content.decode()
    assert page.count('class="alarm-pick"') == 1  # the alarm on A's spacecraft
