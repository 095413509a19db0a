"""Migration 0005 renames the roll-up beat entry of existing databases, in place; 0006 gives enum
definitions their codes (the list their samples were stored against)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

BEFORE, AFTER = ("telemetry", "0004_hour_rollup"), ("telemetry", "0005_rename_roll_up_schedule")
LATEST = ("telemetry", "0006_enum_codes")
OLD, NEW = "telemetry: minute roll-ups", "telemetry: minute and hour roll-ups"


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])


@pytest.fixture
def database_before_0005(db):
    """A database as 0003 left it (the entry with its old name, edited by an operator)."""
    migrate(BEFORE)
    PeriodicTask.objects.filter(task="telemetry.roll_up").delete()
    every_2_min, _ = IntervalSchedule.objects.get_or_create(every=120, period="seconds")
    PeriodicTask.objects.create(name=OLD, task="telemetry.roll_up", interval=every_2_min, enabled=False)
    yield
    migrate(LATEST)  # the rest of the run expects the latest schema


def roll_up_entries():
    return list(PeriodicTask.objects.filter(task="telemetry.roll_up").values_list("name", "interval__every", "enabled"))


def test_the_entry_is_renamed_in_place(database_before_0005):
    pk = PeriodicTask.objects.get(name=OLD).pk
    changed_before = PeriodicTasks.last_change()
    migrate(AFTER)
    assert roll_up_entries() == [(NEW, 120, False)]
    assert PeriodicTask.objects.get(name=NEW).pk == pk
    assert changed_before is None or PeriodicTasks.last_change() > changed_before  # a running beat reloads
    migrate(BEFORE)
    assert roll_up_entries() == [(OLD, 120, False)]


def test_an_entry_already_under_the_new_name_is_kept_alone(database_before_0005):
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(name=NEW, task="telemetry.roll_up", interval=every_minute)
    migrate(AFTER)
    assert roll_up_entries() == [(NEW, 60, True)]


def test_a_deleted_entry_is_not_made_again(database_before_0005):
    PeriodicTask.objects.filter(name=OLD).delete()
    migrate(AFTER)
    assert roll_up_entries() == []


@pytest.fixture
def database_before_0006(db):
    with connection.cursor() as cursor:  # rows written before (definitions): ALTER TABLE refuses pending checks
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    migrate(AFTER)
    yield
    migrate(LATEST)


def test_enum_codes_start_as_the_values_samples_were_stored_against(sc_a, database_before_0006):
    # sc_a first: registering it syncs its definitions with today's model, before the schema goes back
    executor = MigrationExecutor(connection)
    old_definition = executor.loader.project_state([AFTER]).apps.get_model("telemetry", "ParameterDefinition")
    modes = ["BOOT", "SAFE"]
    old_definition.objects.create(spacecraft_id=sc_a.pk, name="mode", type="enum", enum_values=modes)
    old_definition.objects.create(spacecraft_id=sc_a.pk, name="volts", type="float")
    with connection.cursor() as cursor:  # foreign keys checked now: ALTER TABLE refuses pending checks
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    migrate(LATEST)
    from telemetry.models import ParameterDefinition

    codes = dict(
        ParameterDefinition.objects.filter(spacecraft=sc_a, name__in=["mode", "volts"]).values_list(
            "name", "enum_codes"
        )
    )
    assert codes == {"mode": modes, "volts": []}
    assert ParameterDefinition.objects.get(spacecraft=sc_a, name="mode").display_value(1.0) == "SAFE"
