from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spacecraft import services
from spacecraft.models import Command, CommandState, Document


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_fleet_page_takes_a_constant_number_of_queries(
    login, viewer, org_a, make_spacecraft, django_assert_max_num_queries
):
    client = login(viewer)
    for n in range(100, 102):
        make_spacecraft(org_a, f"SC-{n}")
    client.get("/fleet/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get("/fleet/")
    for n in range(102, 112):
        make_spacecraft(org_a, f"SC-{n}")
    with django_assert_max_num_queries(len(few)):
        page = client.get("/fleet/").content.decode()
    assert page.count('class="sc-card"') == 12


def test_operator_queues_approves_and_cancels_from_the_spacecraft_page(login, operator, make_user, org_a, sc_a):
    client = login(operator)
    page = client.get(f"/spacecraft/{sc_a.pk}/").content.decode()
    assert "Command queue" in page and 'value="capture_image"' in page
    response = client.post(
        f"/spacecraft/{sc_a.pk}/commands/",
        {"name": "reboot", "args": '{"subsystem": "adcs"}', "priority": 3, "release_mode": "immediate"},
    )
    assert response.status_code == 302
    command = Command.objects.get()
    assert command.awaiting_approval
    page = client.get(f"/spacecraft/{sc_a.pk}/").content.decode()
    assert "awaiting approval" in page and f"/commands/{command.pk}/approve/" not in page  # not for its author
    client.post(f"/commands/{command.pk}/approve/")
    command.refresh_from_db()
    assert command.approved_by is None  # the author's approval was refused
    second = make_user("second", org_a, "operator")
    client.logout()
    login(second).post(f"/commands/{command.pk}/approve/")
    command.refresh_from_db()
    assert command.state == CommandState.RELEASED and command.approved_by == second


def test_bad_command_on_the_page_shows_the_field_and_queues_nothing(login, operator, sc_a):
    client = login(operator)
    response = client.post(
        f"/spacecraft/{sc_a.pk}/commands/",
        {"name": "capture_image", "args": '{"exposure_ms": 99999}', "priority": 5, "release_mode": "immediate"},
        follow=True,
    )
    assert "args.exposure_ms: exposure_ms must be between 1 and 5000" in response.content.decode()
    assert not Command.objects.exists()


def test_viewer_and_stranger_cannot_command_from_pages(login, viewer, stranger, sc_a, client):
    form = {"name": "ping", "args": "{}", "priority": 5, "release_mode": "immediate"}
    assert login(viewer).post(f"/spacecraft/{sc_a.pk}/commands/", form).status_code == 403
    client.logout()
    assert login(stranger).post(f"/spacecraft/{sc_a.pk}/commands/", form).status_code == 404
    assert not Command.objects.exists()


def test_documents_pages_search_write_publish(login, operator, viewer, stranger, org_a, sc_a, client):
    services.create_document(
        organization=org_a,
        title="Safe mode recovery",
        category="procedure",
        body="Recover from **safe mode** step by step.",
        actor=operator,
    )
    editor = login(operator)
    listing = editor.get("/documents/", {"q": "safe mode"}).content.decode()
    assert "Safe mode recovery" in listing and "<mark>" in listing
    created = editor.post(
        "/documents/new/",
        {
            "title": "Downlink checklist",
            "category": "procedure",
            "spacecraft": str(sc_a.pk),
            "body": "# Checklist\n\n- antenna",
        },
    )
    doc = Document.objects.get(title="Downlink checklist")
    assert created.status_code == 302 and doc.spacecraft == sc_a
    page = editor.get(f"/documents/{doc.pk}/").content.decode()
    assert "<h1>Checklist</h1>" in page and "Publish v1" in page
    editor.post(f"/documents/{doc.pk}/publish/")
    doc.refresh_from_db()
    assert doc.state == "published"
    client.logout()
    reader = login(viewer)
    assert reader.get(f"/documents/{doc.pk}/").status_code == 200
    assert reader.get(f"/documents/{doc.pk}/edit/").status_code == 403
    client.logout()
    assert login(stranger).get(f"/documents/{doc.pk}/").status_code == 404


def test_events_page_filters_and_links(login, operator, sc_a, make_spacecraft, org_a):
    other = make_spacecraft(org_a, "SC-002")
    services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    client = login(operator)
    page = client.get("/events/", {"kind": "command."}).content.decode()
    assert "command.queued" in page and "spacecraft.created" not in page
    assert f'href="/spacecraft/{sc_a.pk}/#commands"' in page
    page = client.get("/events/", {"spacecraft": str(other.pk)}).content.decode()
    assert f'href="/spacecraft/{other.pk}/"' in page and f'href="/spacecraft/{sc_a.pk}/' not in page
    assert "No events match" in client.get("/events/", {"since": "2099-01-01T00:00"}).content.decode()


def test_webhooks_page_is_for_admins(login, owner, viewer, client):
    admin = login(owner)
    response = admin.post(
        "/webhooks/", {"name": "ops", "url": "http://127.0.0.1:9/hook", "event_kinds": "mode., command."}
    )
    assert response.status_code == 302
    page = admin.get("/webhooks/").content.decode()
    assert "ops" in page and "mode., command." in page and "Send test" in page
    client.logout()
    reader = login(viewer)
    assert "Only organization admins" in reader.get("/webhooks/").content.decode()
    assert reader.post("/webhooks/", {"name": "x", "url": "http://x.example", "event_kinds": "*"}).status_code == 403


def test_send_command_management_command(operator, viewer, sc_a):
    out = StringIO()
    call_command(
        "send_command", "SC-001", "capture_image", "exposure_ms=20", "target=Alps", "--user", "operator", stdout=out
    )
    command = Command.objects.get()
    assert command.args == {"exposure_ms": 20, "target": "Alps"} and "released" in out.getvalue()
    with pytest.raises(CommandError, match="args.exposure_ms"):
        call_command("send_command", "SC-001", "capture_image", "exposure_ms=0", "--user", "operator")
    with pytest.raises(CommandError, match="may not operate"):
        call_command("send_command", "SC-001", "ping", "--user", "viewer")


def test_export_events_command(tmp_path, org_a, operator, sc_a):
    services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    out = StringIO()
    call_command("export_events", "--org", "org-a", "--kind", "command.", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and '"kind": "command.queued"' in lines[0]
    target = tmp_path / "events.csv"
    call_command("export_events", "--org", "org-a", "--format", "csv", "-o", str(target), stderr=StringIO())
    assert target.read_text().splitlines()[0].startswith("created_at,kind")
    with pytest.raises(CommandError, match="offset"):
        call_command("export_events", "--org", "org-a", "--since", "2026-01-01")
