import io

import pytest
from django.core.management import CommandError, call_command

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


def test_seed_demo_hook(org_a, owner, simulator):
    from telescopes import demo

    changes = []
    demo.seed(organization=org_a, actor=owner, log=changes.append, options={}, stderr=io.StringIO())
    assert changes == ["create observatory Demo Observatory"]
    changes.clear()
    options = {"alpaca_simulator": f"127.0.0.1:{simulator.port}"}
    demo.seed(organization=org_a, actor=owner, log=changes.append, options=options, stderr=io.StringIO())
    assert changes == [f"register 10 Alpaca device(s) of 127.0.0.1:{simulator.port} at Demo Observatory"]
    demo.seed(organization=org_a, actor=owner, log=changes.append, options=options, stderr=io.StringIO())
    assert len(changes) == 1  # idempotent
