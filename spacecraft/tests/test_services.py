import pytest
from django.db import transaction

from missionops.exceptions import ConflictError, DomainError
from missionops.models import Event, ImmutableError
from spacecraft import services
from spacecraft.models import ConfigVersion, Mode, Spacecraft


@pytest.fixture
def sc(make_spacecraft, org_a):
    return make_spacecraft(org_a, "SC-101", safe_soc_threshold_pct=20, survival_soc_threshold_pct=10)


def mode_events(sc):
    return list(Event.objects.filter(spacecraft_id=sc.pk, kind="mode.changed").order_by("created_at"))


def test_create_records_event_version_one_and_permissions(sc, operator, viewer, stranger):
    assert sc.current_config.version == 1
    assert Event.objects.filter(kind="spacecraft.created", subject_id=str(sc.pk)).count() == 1
    assert operator.has_perm("spacecraft.operate_spacecraft", sc)
    assert viewer.has_perm("spacecraft.view_spacecraft", sc)
    assert not viewer.has_perm("spacecraft.operate_spacecraft", sc)
    assert not stranger.has_perm("spacecraft.view_spacecraft", sc)


def test_designation_is_unique_per_organization_only(make_spacecraft, org_a, org_b, sc):
    with pytest.raises(ConflictError) as error:
        make_spacecraft(org_a, "SC-101")
    assert error.value.field == "designation"
    assert make_spacecraft(org_b, "SC-101").organization == org_b


def test_battery_below_safe_threshold_forces_safe_and_records_event(sc, operator):
    services.update_state(spacecraft=sc, battery_soc_pct=15, actor=operator)
    sc.refresh_from_db()
    assert sc.mode == Mode.SAFE
    [event] = mode_events(sc)
    assert event.payload["from"] == "nominal" and event.payload["to"] == "safe"
    assert "below safe threshold" in event.payload["reason"]


def test_battery_below_survival_threshold_forces_survival(sc):
    services.update_state(spacecraft=sc, battery_soc_pct=5)
    sc.refresh_from_db()
    assert sc.mode == Mode.SURVIVAL


def test_recovery_needs_a_command_and_enough_battery(sc, operator):
    services.update_state(spacecraft=sc, battery_soc_pct=15)
    services.update_state(spacecraft=sc, battery_soc_pct=50)
    sc.refresh_from_db()
    assert sc.mode == Mode.SAFE  # charging alone does not leave safe mode
    services.update_state(spacecraft=sc, mode=Mode.NOMINAL, actor=operator)
    sc.refresh_from_db()
    assert sc.mode == Mode.NOMINAL
    assert [e.payload["to"] for e in mode_events(sc)] == ["safe", "nominal"]


def test_commanding_nominal_below_threshold_is_a_conflict_and_changes_nothing(sc, operator):
    services.update_state(spacecraft=sc, battery_soc_pct=15)
    with pytest.raises(ConflictError) as error:
        services.update_state(spacecraft=sc, mode=Mode.NOMINAL, actor=operator)
    assert error.value.field == "mode"
    sc.refresh_from_db()
    assert sc.mode == Mode.SAFE


def test_no_event_when_mode_is_unchanged(sc):
    services.update_state(spacecraft=sc, battery_soc_pct=80, memory_used_pct=30)
    assert mode_events(sc) == []


@pytest.mark.parametrize("field, value", [("battery_soc_pct", 101), ("memory_used_pct", -1), ("mode", "warp")])
def test_invalid_state_is_refused(sc, field, value):
    with pytest.raises(DomainError) as error:
        services.update_state(spacecraft=sc, **{field: value})
    assert error.value.field == field


def test_config_change_makes_a_new_immutable_version_with_diff(sc, operator):
    v2 = services.change_config(
        spacecraft=sc,
        parameters={"bus_voltage": {"subsystem": "power", "units": "V", "warn_low": 27, "warn_high": 29}},
        actor=operator,
        note="add bus voltage",
    )
    v3 = services.change_config(
        spacecraft=sc,
        parameters={"bus_voltage": {"subsystem": "power", "units": "V", "warn_low": 26.5, "warn_high": 29}},
        actor=operator,
    )
    assert (v2.version, v3.version) == (2, 3)
    assert v2.diff["added"] == ["bus_voltage"]
    assert v3.diff["changed"] == {"bus_voltage": {"warn_low": {"from": 27, "to": 26.5}}}
    assert sc.current_config.pk == v3.pk
    event = Event.objects.filter(kind="config.changed", spacecraft_id=sc.pk).first()
    assert event.payload["version"] == 3 and event.actor == operator
    v2.note = "rewritten"
    with pytest.raises(ValueError):
        v2.save()


def test_invalid_config_writes_nothing(sc):
    before = ConfigVersion.objects.count(), Event.objects.count()
    with pytest.raises(DomainError):
        services.change_config(
            spacecraft=sc,
            parameters={"ok": {"subsystem": "power"}, "bad": {"subsystem": "power", "warn_low": 9, "warn_high": 1}},
        )
    assert (ConfigVersion.objects.count(), Event.objects.count()) == before


def test_unchanged_config_is_a_conflict(sc):
    with pytest.raises(ConflictError):
        services.change_config(spacecraft=sc, parameters=sc.current_config.parameters)


def test_events_are_immutable(sc):
    event = Event.objects.filter(spacecraft_id=sc.pk).first()
    event.kind = "tampered"
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()
    with pytest.raises(ImmutableError):
        Event.objects.filter(pk=event.pk).update(kind="tampered")


def test_threshold_rules(make_spacecraft, org_a):
    with pytest.raises(DomainError) as error:
        make_spacecraft(org_a, "SC-900", safe_soc_threshold_pct=10, survival_soc_threshold_pct=20)
    assert error.value.field == "survival_soc_threshold_pct"
    assert not Spacecraft.objects.filter(designation="SC-900").exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_state_change_publishes_nothing(make_spacecraft, org_a, monkeypatch):
    from missionops import live

    sent = []
    monkeypatch.setattr(live, "_send", lambda sends: sent.extend(group for group, _ in sends))
    sc = make_spacecraft(org_a, "SC-102")
    sent.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.update_state(spacecraft=sc, battery_soc_pct=5)
        raise RuntimeError("rolled back")
    assert sent == []
    services.update_state(spacecraft=sc, battery_soc_pct=5)
    assert sorted(sent) == sorted([f"o{org_a.pk}.sc.{sc.pk}", f"o{org_a.pk}.fleet", f"o{org_a.pk}.events"])
