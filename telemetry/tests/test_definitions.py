"""Parameter definitions are kept per process between ingests; every way they can change must be
seen by the next ingest (and series lookup), and a batch that rolls back must leave them as stored."""

import datetime as dt
import subprocess
import sys

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from missionops.exceptions import NotFound
from missionops.testing import ROOT, test_database_env
from spacecraft.profiles import PROFILES
from spacecraft.services import change_config
from telemetry import selectors
from telemetry.exceptions import TelemetryInputError
from telemetry.models import ParameterDefinition

from .conftest import iso


def snapshot(sc, moment, **parameters):
    return {"spacecraft": sc.designation, "timestamp": iso(moment), "parameters": parameters}


def definition_reads(queries) -> list[str]:
    """Queries that load definitions (the stamp inside the spacecraft query does not count)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("WITH d AS MATERIALIZED")
        or q["sql"].startswith('SELECT "telemetry_parameterdefinition"')
    ]


def test_a_repeated_ingest_reads_no_definitions(operator, sc_a, ingest_as, now_minute):
    ingest_as(operator, [snapshot(sc_a, now_minute, battery_soc=80.0)])
    with CaptureQueriesContext(connection) as queries:
        result = ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=1), battery_soc=81.0)])
    assert result.stored == 1
    assert definition_reads(queries) == []


def test_config_change_is_seen_by_the_next_ingest(operator, owner, sc_a, ingest_as, now_minute):
    from spacecraft.profiles import PROFILES
    from spacecraft.services import change_config

    ingest_as(operator, [snapshot(sc_a, now_minute, battery_soc=80.5)])  # declared float
    profile = PROFILES["LEO_IMAGING"]
    change_config(
        spacecraft=sc_a, parameters={**profile, "battery_soc": {**profile["battery_soc"], "type": "int"}}, actor=owner
    )
    with pytest.raises(TelemetryInputError, match="an integer") as error:
        ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=1), battery_soc=80.5)])
    assert error.value.field == "items[0].parameters.battery_soc"
    assert selectors.definitions_for([sc_a])[sc_a.pk]["battery_soc"].type == "int"


@pytest.mark.parametrize("how", ["save", "update"])
def test_an_edited_definition_is_seen_by_the_next_ingest(operator, sc_a, ingest_as, now_minute, how):
    ingest_as(operator, [snapshot(sc_a, now_minute, heater_cycles=3)])  # registered: undeclared int
    assert selectors.definitions_for([sc_a])[sc_a.pk]["heater_cycles"].type == "int"  # kept
    if how == "save":  # as the admin does
        definition = ParameterDefinition.objects.get(spacecraft=sc_a, name="heater_cycles")
        definition.type = "bool"
        definition.save()
    else:  # no model method runs: as raw SQL or a bulk update would
        ParameterDefinition.objects.filter(spacecraft=sc_a, name="heater_cycles").update(type="bool")
    with pytest.raises(TelemetryInputError, match="true or false"):
        ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=1), heater_cycles=4)])
    assert ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=2), heater_cycles=True)]).stored == 1


def test_a_deleted_definition_is_registered_again(operator, sc_a, ingest_as, now_minute):
    first = ingest_as(operator, [snapshot(sc_a, now_minute, sun_angle=12.5)])
    assert first.registered == ["SC-001/sun_angle"]
    old = ParameterDefinition.objects.get(spacecraft=sc_a, name="sun_angle")
    assert selectors.parameter_of(sc_a, "sun_angle").pk == old.pk
    old.delete()
    with pytest.raises(NotFound):
        selectors.parameter_of(sc_a, "sun_angle")
    again = ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=1), sun_angle=13.0)])
    assert again.registered == ["SC-001/sun_angle"]
    new = ParameterDefinition.objects.get(spacecraft=sc_a, name="sun_angle")
    assert new.pk != old.pk
    assert selectors.parameter_of(sc_a, "sun_angle").pk == new.pk


def test_a_rolled_back_batch_leaves_the_kept_definitions_as_stored(operator, sc_a, ingest_as, now_minute):
    ingest_as(operator, [snapshot(sc_a, now_minute, heater_cycles=3, gps_fix="3D")])
    selectors.definitions_for([sc_a])  # kept with the two undeclared parameters
    widening = [snapshot(sc_a, now_minute + dt.timedelta(seconds=1), heater_cycles=3.5, gps_fix="2D")]
    refused = [*widening, snapshot(sc_a, now_minute + dt.timedelta(seconds=2), battery_soc="full")]
    with pytest.raises(TelemetryInputError):
        ingest_as(operator, refused)
    with pytest.raises(RuntimeError), transaction.atomic():  # the batch is stored, then the caller rolls back
        ingest_as(operator, widening)
        raise RuntimeError
    kept = selectors.definitions_for([sc_a])[sc_a.pk]
    assert (kept["heater_cycles"].type, kept["gps_fix"].enum_values) == ("int", ["3D"])
    assert ParameterDefinition.objects.get(spacecraft=sc_a, name="heater_cycles").type == "int"
    ingest_as(operator, widening)
    kept = selectors.definitions_for([sc_a])[sc_a.pk]
    assert (kept["heater_cycles"].type, kept["gps_fix"].enum_values) == ("float", ["3D", "2D"])


def test_a_change_made_by_another_process_is_seen(transactional_db, make_user, org_a, sc_a, ingest_as):
    operator = make_user("operator", org_a, "operator")
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    ingest_as(operator, [snapshot(sc_a, moment, heater_cycles=3)])
    assert selectors.definitions_for([sc_a])[sc_a.pk]["heater_cycles"].type == "int"  # kept
    code = (
        "from telemetry.models import ParameterDefinition as P; "
        f"P.objects.filter(spacecraft_id='{sc_a.pk}', name='heater_cycles').update(type='bool')"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=test_database_env(), check=True, timeout=60
    )
    with pytest.raises(TelemetryInputError, match="true or false"):
        ingest_as(operator, [snapshot(sc_a, moment + dt.timedelta(seconds=1), heater_cycles=4)])


def history(sc, name) -> list:
    """The stored samples of a parameter, decoded as the archive and the export read them."""
    definition = selectors.parameter_of(sc, name)
    chunks = selectors.export_chunks(definitions=[definition], start=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), end=now())
    return [d.display_value(value) for chunk in chunks for _, d, value in chunk]


def latest(sc) -> dict:
    return {row["parameter"]: row["value"] for row in selectors.latest_values(spacecraft=sc)}


def test_declaring_an_undeclared_enum_in_another_order_keeps_its_history(operator, owner, sc_a, ingest_as, now_minute):
    ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=i), opmode=v) for i, v in enumerate("SIS")])
    assert latest(sc_a)["opmode"] == "S"
    change_config(
        spacecraft=sc_a,
        parameters={
            **PROFILES["LEO_IMAGING"],
            "opmode": {"subsystem": "obc", "type": "enum", "enum_values": ["I", "S"]},
        },
        actor=owner,
    )
    assert latest(sc_a)["opmode"] == "S"
    assert history(sc_a, "opmode") == ["S", "I", "S"]
    definition = ParameterDefinition.objects.get(spacecraft=sc_a, name="opmode")
    assert (definition.declared, definition.enum_values) == (True, ["I", "S"])  # what ingest accepts, as declared


def test_reordering_or_dropping_declared_enum_values_keeps_history_and_refuses_dropped_ones(
    operator, owner, sc_a, ingest_as, now_minute
):
    profile = PROFILES["LEO_IMAGING"]
    declared = profile["imaging_mode"]["enum_values"]  # IDLE, IMAGING, DOWNLINK, CALIBRATION
    ingest_as(
        operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=i), imaging_mode=v) for i, v in enumerate(declared)]
    )

    def declare(values):
        change_config(
            spacecraft=sc_a, parameters={**profile, "imaging_mode": {**profile["imaging_mode"], "enum_values": values}}
        )

    declare(["SAFE", "CALIBRATION", "DOWNLINK", "IMAGING"])  # reordered, IDLE dropped, SAFE added
    assert history(sc_a, "imaging_mode") == declared
    assert latest(sc_a)["imaging_mode"] == "CALIBRATION"
    with pytest.raises(TelemetryInputError, match="not one of") as error:
        ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=10), imaging_mode="IDLE")])
    assert error.value.field == "items[0].parameters.imaging_mode"
    ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=11), imaging_mode="SAFE")])
    declare(["IDLE", "SAFE"])  # IDLE back: its samples and the new ones still read as themselves
    ingest_as(operator, [snapshot(sc_a, now_minute + dt.timedelta(seconds=12), imaging_mode="IDLE")])
    assert history(sc_a, "imaging_mode") == [*declared, "SAFE", "IDLE"]
    definition = ParameterDefinition.objects.get(spacecraft=sc_a, name="imaging_mode")
    assert definition.enum_codes == [*declared, "SAFE"]  # codes only grow


def test_a_configuration_change_syncs_the_definitions_and_reads_write_nothing(owner, sc_a):
    """Definitions follow a new configuration version in its own transaction (issue 17), so the
    selectors only read: no INSERT or UPDATE from the telemetry page's queries."""
    parameters = {**sc_a.current_config.parameters, "sun_angle": {"subsystem": "adcs", "units": "deg"}}
    change_config(spacecraft=sc_a, parameters=parameters, actor=owner, note="sun sensor")
    assert ParameterDefinition.objects.get(spacecraft=sc_a, name="sun_angle").declared
    with CaptureQueriesContext(connection) as queries:
        selectors.parameters_of(sc_a)
        selectors.parameter_of(sc_a, "sun_angle")
        selectors.latest_values(spacecraft=sc_a)
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
