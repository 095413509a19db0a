import threading
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from missionops import live
from missionops.exceptions import ConflictError, DomainError
from missionops.models import Event
from spacecraft import selectors, services
from spacecraft.models import Command, CommandState, Mode, Spacecraft


def queue(client, sc, name, args=None, **extra):
    return client.post(
        "/api/v1/commands/", {"spacecraft": str(sc.pk), "name": name, "args": args or {}, **extra}, format="json"
    )


@pytest.fixture
def second_operator(make_user, org_a):
    return make_user("second", org_a, "operator")


@pytest.mark.parametrize(
    "name, args, field",
    [
        ("capture_image", {"exposure_ms": 0}, "args.exposure_ms"),
        ("capture_image", {"exposure_ms": "long"}, "args.exposure_ms"),
        ("capture_image", {}, "args.exposure_ms"),
        ("capture_image", {"exposure_ms": 10, "zoom": 2}, "args.zoom"),
        ("set_mode", {"mode": "warp"}, "args.mode"),
        ("clock_adjust", {"offset_ns": 1}, "name"),  # a GNSS command on an imaging spacecraft
        ("self_destruct", {}, "name"),
        ("memory_dump", {"start": 10**400, "length": 1}, "args.start"),  # no double holds it
        ("memory_dump", {"start": 1, "length": -(10**400)}, "args.length"),
        ("clear_memory", {"percent": 10**400}, "args.percent"),
    ],
)
def test_bad_arguments_are_400_naming_the_argument_and_nothing_is_queued(api, operator, sc_a, name, args, field):
    client = api(operator)
    client.raise_request_exception = False  # a crash must show as a 500 here, not as an exception
    response = queue(client, sc_a, name, args)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert not Command.objects.exists()


def test_catalogue_lists_commands_with_ranges(api, viewer):
    catalogue = api(viewer).get("/api/v1/command-catalogue/", {"mission_type": "LEO_IMAGING"}).json()
    capture = next(c for c in catalogue if c["name"] == "capture_image")
    assert capture["args"]["exposure_ms"] == {"type": "int", "required": True, "min": 1, "max": 5000}
    assert next(c for c in catalogue if c["name"] == "reboot")["critical"] is True
    assert api(viewer).get("/api/v1/command-catalogue/", {"mission_type": "X"}).json()["field"] == "mission_type"


def test_immediate_command_is_released_and_executes_on_the_runtime(api, operator, sc_a):
    response = queue(api(operator), sc_a, "payload_on")
    assert response.status_code == 201 and response.json()["state"] == "released"
    command = services.transmit(command_id=response.json()["id"])
    assert command.state == CommandState.EXECUTED
    assert command.sent_at <= command.acknowledged_at <= command.finished_at
    sc_a.refresh_from_db()
    assert sc_a.runtime["payload_on"] is True
    from telemetry.models import LatestValue

    reported = {
        v.parameter.name: v for v in LatestValue.objects.filter(parameter__spacecraft=sc_a).select_related("parameter")
    }
    assert {"commands_executed", "payload_on", "boot_count"} <= set(reported)  # the runtime reports telemetry
    kinds = list(
        Event.objects.filter(subject_type="spacecraft.command").order_by("created_at").values_list("kind", flat=True)
    )
    assert kinds == ["command.queued", "command.released", "command.sent", "command.acknowledged", "command.executed"]
    assert services.transmit(command_id=command.pk).state == CommandState.EXECUTED  # running twice changes nothing


def test_runtime_refusal_fails_the_command_with_a_reason(api, operator, sc_a):
    command_id = queue(api(operator), sc_a, "capture_image", {"exposure_ms": 20}).json()["id"]
    command = services.transmit(command_id=command_id)
    assert command.state == CommandState.FAILED and command.failure_reason == "payload is off: send payload_on first"


def test_two_person_rule(api, operator, second_operator, sc_a):
    created = queue(api(operator), sc_a, "reboot", {"subsystem": "obc"})
    assert created.status_code == 201
    body = created.json()
    assert body["critical"] and body["state"] == "queued" and body["awaiting_approval"]
    own = api(operator).post(f"/api/v1/commands/{body['id']}/approve/")
    assert own.status_code == 409 and "two-person rule" in own.json()["detail"]
    approved = api(second_operator).post(f"/api/v1/commands/{body['id']}/approve/")
    assert approved.status_code == 200
    assert approved.json()["state"] == "released" and approved.json()["approved_by"] == "second"
    assert api(second_operator).post(f"/api/v1/commands/{body['id']}/approve/").status_code == 409


def test_unacknowledged_command_times_out(operator, sc_a):
    Spacecraft.objects.filter(pk=sc_a.pk).update(runtime={"link_available": False})
    command = services.create_command(spacecraft=sc_a, name="ping", actor=operator, ack_timeout_s=30)
    command = services.transmit(command_id=command.pk)
    assert command.state == CommandState.SENT
    assert services.expire_unacknowledged(now=timezone.now() + timedelta(seconds=10)) == 0
    assert services.expire_unacknowledged(now=timezone.now() + timedelta(seconds=31)) == 1
    command.refresh_from_db()
    assert command.state == CommandState.TIMED_OUT and command.failure_reason == "no acknowledgement within 30 s"
    assert Event.objects.filter(kind="command.timed_out", subject_id=str(command.pk)).exists()


def test_survival_mode_refuses_non_essential_commands(api, operator, sc_a):
    services.update_state(spacecraft=sc_a, battery_soc_pct=5)
    refused = queue(api(operator), sc_a, "payload_on")
    assert refused.status_code == 409 and refused.json()["field"] == "name"
    assert "survival mode" in refused.json()["detail"] and "not essential" in refused.json()["detail"]
    assert queue(api(operator), sc_a, "payload_off").status_code == 201
    assert Command.objects.count() == 1


def test_set_mode_command_goes_through_mode_rules(operator, sc_a):
    services.update_state(spacecraft=sc_a, battery_soc_pct=15)
    command = services.create_command(spacecraft=sc_a, name="set_mode", args={"mode": "nominal"}, actor=operator)
    command = services.transmit(command_id=command.pk)
    assert command.state == CommandState.FAILED and "below the safe threshold" in command.failure_reason
    sc_a.refresh_from_db()
    assert sc_a.mode == Mode.SAFE


def test_release_at_next_contact(operator, sc_a, org_a):
    from orbits.models import Contact, ContactPlan, GroundStation

    command = services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    assert command.state == CommandState.QUEUED
    assert services.release_at_contact() == 0  # no contact scheduled yet
    now = timezone.now()
    station = GroundStation.objects.create(organization=org_a, name="Svalbard", latitude_deg=78.2, longitude_deg=15.4)
    plan = ContactPlan.objects.create(organization=org_a, start=now, end=now + timedelta(hours=2))
    Contact.objects.create(
        plan=plan,
        spacecraft=sc_a,
        station=station,
        start=now + timedelta(minutes=30),
        end=now + timedelta(minutes=40),
        volume_bits=10**6,
    )
    assert services.release_at_contact(now=now) == 0
    assert services.release_at_contact(now=now + timedelta(minutes=35)) == 1
    command.refresh_from_db()
    assert command.state == CommandState.RELEASED


def test_cancel(api, operator, viewer, sc_a):
    command = services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    assert api(viewer).post(f"/api/v1/commands/{command.pk}/cancel/").status_code == 403
    response = api(operator).post(f"/api/v1/commands/{command.pk}/cancel/", {"reason": "pass slipped"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "canceled"
    assert response.json()["failure_reason"] == "pass slipped"
    assert api(operator).post(f"/api/v1/commands/{command.pk}/cancel/").status_code == 409
    assert services.release_command(command=command).state == CommandState.CANCELED  # never released
    with pytest.raises(DomainError):
        services.create_command(spacecraft=sc_a, name="ping", actor=operator, priority=0)


def test_scoping_and_permissions(api, viewer, stranger, operator, sc_a):
    command = services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    assert queue(api(viewer), sc_a, "ping").status_code == 403
    foreign = queue(api(stranger), sc_a, "ping")
    assert foreign.status_code == 400 and "spacecraft" in foreign.json()
    assert api(stranger).get(f"/api/v1/commands/{command.pk}/").status_code == 404
    assert api(stranger).post(f"/api/v1/commands/{command.pk}/cancel/").status_code == 404
    assert api(stranger).get("/api/v1/commands/").json()["results"] == []
    assert [c["id"] for c in api(viewer).get("/api/v1/commands/").json()["results"]] == [command.pk]


@pytest.mark.slow
def test_a_real_worker_executes_an_immediate_command(api, operator, sc_a, celery_worker_process):
    command_id = queue(api(operator), sc_a, "ping").json()["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        command = Command.objects.get(pk=command_id)
        if command.is_final:
            break
        time.sleep(0.2)
    assert command.state == CommandState.EXECUTED and command.result == {"pong": True}


def test_approving_a_next_contact_command_tells_open_pages(
    operator, second_operator, sc_a, monkeypatch, django_capture_on_commit_callbacks
):
    command = services.create_command(
        spacecraft=sc_a, name="rw_reset", args={"wheel": 1}, actor=operator, release_mode="next_contact"
    )
    sent = []
    monkeypatch.setattr(live, "_send", lambda sends: sent.extend(sends))
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_command(command=command, actor=second_operator)
    on_topic = [m["data"] for group, m in sent if group == f"o{sc_a.organization_id}.sc.{sc_a.pk}"]
    assert len(on_topic) == 1
    assert on_topic[0]["kind"] == "command"
    data = on_topic[0]["data"]  # the command as the REST API shows it
    assert (data["id"], data["name"], data["state"]) == (
        command.pk,
        "rw_reset",
        "queued",
    )  # released at the next contact
    assert not data["awaiting_approval"] and data["approved_by"] == "second"
    assert data["can_cancel"]  # queued: the page keeps its Cancel button
    assert data["failure_reason"] == "" and data["result"] == {} and data["finished_at"] is None
    assert data["waits_for"] is None  # no contact plan covers it


@pytest.mark.django_db(transaction=True)
def test_a_command_queued_while_survival_mode_is_being_entered_is_refused(make_spacecraft, make_user, org_a):
    sc = make_spacecraft(org_a, "SC-SURV")
    operator = make_user("operator", org_a, "operator")
    entered = threading.Event()
    outcome = []

    def enter_survival():
        with transaction.atomic():
            services.update_state(spacecraft=sc, battery_soc_pct=5)
            entered.set()
            time.sleep(1)  # not committed yet while the command below is queued

    def queue_payload_on():
        entered.wait(10)
        try:
            services.create_command(spacecraft=sc, name="payload_on", actor=operator)
            outcome.append("queued")
        except ConflictError as error:
            outcome.append(error.field)

    def in_thread(call):
        try:
            call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=in_thread, args=(call,)) for call in (enter_survival, queue_payload_on)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == ["name"]  # waited for the mode change and saw survival
    assert not Command.objects.filter(spacecraft=sc).exists()


@pytest.fixture
def planned_contact(sc_a, org_a):
    """A contact plan with sc_a at Wallops in ten minutes."""
    from datetime import timedelta

    from django.utils import timezone

    from orbits.models import Contact, ContactPlan
    from orbits.services import create_station

    station = create_station(
        organization=org_a, name="Wallops", latitude_deg=37.94, longitude_deg=-75.47, altitude_m=10, min_elevation_deg=5
    )
    start = timezone.now() + timedelta(minutes=10)
    plan = ContactPlan.objects.create(organization=org_a, start=start, end=start + timedelta(hours=1))
    return Contact.objects.create(
        plan=plan, spacecraft=sc_a, station=station, start=start, end=start + timedelta(minutes=8), volume_bits=1
    )


def test_a_next_contact_command_names_the_contact_it_waits_for(api, operator, sc_a, planned_contact):
    response = api(operator).post(
        "/api/v1/commands/",
        {"spacecraft": str(sc_a.pk), "name": "ping", "release_mode": "next_contact"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["waits_for"] == {
        "station": "Wallops",
        "aos": planned_contact.start.isoformat(),
        "los": planned_contact.end.isoformat(),
        "plan": planned_contact.plan_id,
    }
    assert body["release_warning"] == ""


def test_a_next_contact_command_no_plan_covers_is_warned_about(api, client, operator, sc_a):
    response = api(operator).post(
        "/api/v1/commands/",
        {"spacecraft": str(sc_a.pk), "name": "ping", "release_mode": "next_contact"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["waits_for"] is None
    assert "no contact plan has SC-001 in contact" in response.json()["release_warning"]
    client.force_login(operator)
    page = client.post(
        f"/spacecraft/{sc_a.pk}/commands/",
        {"name": "ping", "args": "{}", "priority": 5, "release_mode": "next_contact"},
    )
    body = client.get(page["Location"]).content.decode()
    assert "no contact plan has SC-001 in contact" in body


def test_an_immediate_command_waits_for_nothing(operator, sc_a, planned_contact):
    command = services.create_command(spacecraft=sc_a, name="ping", actor=operator)
    assert selectors.waits_for(command) is None and selectors.release_warning(command) == ""


def test_command_table_is_paginated_and_shows_finished_time_and_result_table(client, operator, sc_a):
    for _ in range(30):
        services.create_command(spacecraft=sc_a, name="ping", actor=operator, release_mode="next_contact")
    client.force_login(operator)
    body = client.get(f"/spacecraft/{sc_a.pk}/").content.decode()
    assert "1–25 of 30" in body and "page 1 of 2" in body
    assert "{&#x27;" not in body  # arguments as key/value tables, not reprs
