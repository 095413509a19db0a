"""Concurrent writers of the same definitions: two batches (or a batch and a page) in their own
transactions on their own connections, held at a barrier so they overlap where the race is."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from missionops.testing import run_at_once
from spacecraft.services import change_config
from telemetry import selectors, services
from telemetry.models import ParameterDefinition
from telemetry.services import batches, definitions, validation

pytestmark = pytest.mark.django_db(transaction=True)


def ingest(sc, moment, parameters):
    snapshot = {"spacecraft": str(sc.pk), "timestamp": moment.isoformat(), "parameters": parameters}
    return services.ingest(snapshots=[snapshot], scope=services.organization_scope(sc.organization))


def stored_values(definition) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM telemetry_sample WHERE parameter_id = %s ORDER BY time", [definition.pk])
        return [definition.display_value(value) for (value,) in cursor.fetchall()]


def test_concurrent_batches_bringing_new_enum_strings_give_each_its_own_code(make_spacecraft, org_a, monkeypatch):
    sc = make_spacecraft(org_a, "SC-ENUM")
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=60)
    ingest(sc, t0, {"modeword": "A"})  # registers the undeclared enum, code 0 = "A"
    ingest(sc, t0 + dt.timedelta(seconds=1), {"modeword": "A"})  # its definitions now follow config v1
    both_read = threading.Barrier(2, timeout=10)
    read = batches.definitions_for_ingest

    def read_then_wait(*, spacecraft):
        found = read(spacecraft=spacecraft)
        both_read.wait()  # both batches hold definitions knowing only "A" before either stores
        return found

    monkeypatch.setattr(batches, "definitions_for_ingest", read_then_wait)
    errors = run_at_once(
        lambda: ingest(sc, t0 + dt.timedelta(seconds=2), {"modeword": "B"}),
        lambda: ingest(sc, t0 + dt.timedelta(seconds=3), {"modeword": "C"}),
    )
    assert errors == []
    definition = ParameterDefinition.objects.get(spacecraft=sc, name="modeword")
    assert stored_values(definition) == ["A", "A", "B", "C"]
    assert definition.enum_codes[0] == "A" and sorted(definition.enum_codes) == ["A", "B", "C"]
    assert sorted(definition.enum_values) == ["A", "B", "C"]


def test_a_new_string_and_a_concurrent_declaration_keep_every_code(make_spacecraft, org_a, monkeypatch):
    """An ingest adding a code and a configuration sync writing the same row: neither loses the other's."""
    sc = make_spacecraft(org_a, "SC-ENUM2")
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=60)
    ingest(sc, t0, {"modeword": "A"})
    ingest(sc, t0 + dt.timedelta(seconds=1), {"modeword": "B"})
    claimed = threading.Event()
    claim = validation._claim_enum_code

    def claim_then_linger(*args):
        code = claim(*args)
        claimed.set()
        time.sleep(1)  # the sync below reads the row while this batch holds it, uncommitted
        return code

    monkeypatch.setattr(validation, "_claim_enum_code", claim_then_linger)

    def declare():  # in its own order, and with a value never seen
        claimed.wait(10)
        change_config(
            spacecraft=sc, parameters={"modeword": {"subsystem": "obc", "type": "enum", "enum_values": ["C", "A"]}}
        )
        definitions.definitions_for_ingest(spacecraft=[sc])  # syncs now

    errors = run_at_once(lambda: ingest(sc, t0 + dt.timedelta(seconds=2), {"modeword": "D"}), declare)
    assert errors == []
    definition = ParameterDefinition.objects.get(spacecraft=sc, name="modeword")
    assert definition.enum_codes[:2] == ["A", "B"] and sorted(definition.enum_codes[2:]) == ["C", "D"]
    assert definition.enum_values == ["C", "A"]  # declared: what ingest accepts from now on
    assert stored_values(definition) == ["A", "B", "D"]


@pytest.mark.parametrize("second", ["ingest", "latest values page"])
def test_concurrent_first_reads_after_a_config_change_both_succeed(make_spacecraft, org_a, monkeypatch, second):
    sc = make_spacecraft(org_a, "SC-SYNC", parameters={"v1": {"subsystem": "power"}})
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=60)
    ingest(sc, t0, {"v1": 1.0})
    change_config(spacecraft=sc, parameters={"v1": {"subsystem": "power"}, "v2": {"subsystem": "power"}})
    both_sync = threading.Barrier(2, timeout=10)
    sync = definitions.sync_definitions

    def wait_then_sync(**kwargs):
        both_sync.wait()  # both saw the new version and are about to insert v2
        return sync(**kwargs)

    monkeypatch.setattr(definitions, "sync_definitions", wait_then_sync)
    other = {
        "ingest": lambda: ingest(sc, t0 + dt.timedelta(seconds=2), {"v1": 3.0, "v2": 4.0}),
        "latest values page": lambda: selectors.latest_values(spacecraft=sc),
    }[second]
    errors = run_at_once(lambda: ingest(sc, t0 + dt.timedelta(seconds=1), {"v1": 2.0, "v2": 2.5}), other)
    assert errors == []
    assert sorted(ParameterDefinition.objects.filter(spacecraft=sc).values_list("name", flat=True)) == ["v1", "v2"]
