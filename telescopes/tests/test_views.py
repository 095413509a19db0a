import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from missionops.services import set_membership
from telescopes.models import AlpacaDevice
from telescopes.services import update_observatory

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)


def test_telescopes_page_shows_devices_and_controls_for_operators(client, operator, viewer, stranger, devices):
    login(client, operator)
    page = client.get("/telescopes/").content.decode()
    assert "Sim Observatory" in page and "Simulator Telescope" in page
    assert 'class="slew-form"' in page and "/api/v1/telescopes/" in page and "telescopes.js" in page
    client.logout()
    login(client, viewer)
    page = client.get("/telescopes/").content.decode()
    assert "Sim Observatory" in page and 'class="slew-form"' not in page
    client.logout()
    login(client, stranger)
    assert "Sim Observatory" not in client.get("/telescopes/").content.decode()


def test_telescopes_page_takes_a_constant_number_of_queries(
    client, make_user, org_a, org_b, add_observatories, django_assert_max_num_queries
):
    """Operator in A, viewer in B: controls (an expose form per camera) only at A's observatories,
    decided for all observatories in one query, not a role lookup per observatory."""
    user = make_user("both", org_a, "operator")
    set_membership(organization=org_b, user=user, role="viewer")
    cameras_a = add_observatories(org_a, range(1, 3))
    add_observatories(org_b, range(50, 52))
    login(client, user)
    client.get("/telescopes/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get("/telescopes/")
    cameras_a |= add_observatories(org_a, range(3, 8))
    add_observatories(org_b, range(52, 57))
    with django_assert_max_num_queries(len(few)):
        page = client.get("/telescopes/").content.decode()
    assert page.count('class="observatory"') == 14
    assert page.count('class="expose-form"') == sum(cameras_a.values())


def test_health_page(client, viewer, devices):
    login(client, viewer)
    page = client.get("/telescopes/health/").content.decode()
    assert "database" in page and "ingest_lag" in page and "mqtt_bridge" in page
    assert "Camera 0" in page and "Sim Observatory" in page


def test_pages_need_login(client):
    assert client.get("/telescopes/").status_code == 302
    assert client.get("/telescopes/health/").status_code == 302


def test_discover_command(observatory, discovery_responder):
    update_observatory(observatory=observatory, discovery_hosts=f"127.0.0.1:{discovery_responder.port}")
    out, err = io.StringIO(), io.StringIO()
    call_command("discover_telescopes", "--timeout", "0.5", stdout=out, stderr=err)
    assert "10 device(s) registered" in out.getvalue()
    assert AlpacaDevice.objects.count() == 10


def test_discover_command_refuses_without_configuration(observatory):
    with pytest.raises(CommandError, match="nothing discovered"):
        call_command("discover_telescopes", stdout=io.StringIO(), stderr=io.StringIO())


def test_seed_demo_hook(org_a, owner, simulator, settings):
    """As under `make run`: no outbound allow-list, yet the simulator the operator names on the
    command line (on loopback) is reached, for that registration only."""
    from missionops import outbound
    from telescopes import demo

    settings.OUTBOUND_ALLOWED_NETWORKS = []
    changes = []
    demo.seed(organization=org_a, actor=owner, log=changes.append, options={}, stderr=io.StringIO())
    assert changes == ["create observatory Demo Observatory"]
    changes.clear()
    options = {"alpaca_simulator": f"127.0.0.1:{simulator.port}"}
    demo.seed(organization=org_a, actor=owner, log=changes.append, options=options, stderr=io.StringIO())
    assert changes == [f"register 10 Alpaca device(s) of 127.0.0.1:{simulator.port} at Demo Observatory"]
    demo.seed(organization=org_a, actor=owner, log=changes.append, options=options, stderr=io.StringIO())
    assert len(changes) == 1  # idempotent
    assert outbound.address_refusal("127.0.0.1") == "a loopback address"  # allowed for that call only
