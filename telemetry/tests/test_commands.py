import datetime as dt
import io
import json

from django.core.management import call_command

from telemetry.models import FaultKind, InjectedFault, LatestValue, MinuteRollup
from telemetry.simulator import SpacecraftSimulator

from .test_ingest import count_samples


def test_simulate_streams_through_ingest_and_logs_faults(org_a, sc_a, tmp_path):
    log = tmp_path / "faults.jsonl"
    out = io.StringIO()
    call_command(
        "simulate",
        organization=org_a.slug,
        rate=20,
        duration=1.0,
        fault_rate=20.0,
        fault_log=str(log),
        seed=1,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert count_samples(sc_a) > 50
    faults = [json.loads(line) for line in log.read_text().splitlines()]
    assert faults and faults[0]["spacecraft"] == "SC-001"
    assert {"parameter", "kind", "started_at", "ended_at"} <= set(faults[0])
    assert InjectedFault.objects.filter(spacecraft=sc_a).count() == len(faults)


def test_simulator_faults_change_the_signal(sc_a):
    from spacecraft.profiles import PROFILES

    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    sim = SpacecraftSimulator(sc_a, PROFILES["LEO_IMAGING"], seed=3)
    sim.inject(moment=moment, kind=FaultKind.DROPOUT, parameter="bus_voltage")
    sim.inject(moment=moment, kind=FaultKind.SPIKE, parameter="battery_temp")
    sim.inject(moment=moment, kind=FaultKind.STUCK, parameter="panel_temp")
    first = sim.snapshot(moment + dt.timedelta(seconds=1))["parameters"]
    second = sim.snapshot(moment + dt.timedelta(seconds=1.5))["parameters"]
    assert "bus_voltage" not in first
    assert first["battery_temp"] > 18 + 8 * 2 - 6
    assert first["panel_temp"] == second["panel_temp"]
    assert first["imaging_mode"] in PROFILES["LEO_IMAGING"]["imaging_mode"]["enum_values"]


def test_seed_demo_loads_history_with_progress_and_is_idempotent(db):
    err = io.StringIO()
    call_command("seed_demo", minutes=5, interval=30, stdout=io.StringIO(), stderr=err)
    samples = sum(count_samples(sc) for sc in __import__("spacecraft.models").models.Spacecraft.objects.all())
    assert samples > 0
    assert MinuteRollup.objects.exists()
    out = io.StringIO()
    call_command("seed_demo", minutes=5, interval=30, stdout=out, stderr=io.StringIO())
    assert "telemetry samples" not in out.getvalue() or "already there" in out.getvalue()


def test_list_telemetry(operator, sc_a, ingest_as, now_minute):
    from .test_ingest import batch

    ingest_as(operator, batch(sc_a, now_minute, n=1))
    out = io.StringIO()
    call_command("list_telemetry", spacecraft="SC-001", stdout=out)
    text = out.getvalue()
    assert "battery_soc" in text and "80" in text and "IDLE" in text
    assert LatestValue.objects.count() == 3


def test_list_telemetry_finds_a_32_character_designation_and_an_id(make_spacecraft, org_a):
    for designation in ("A" * 32, "ab" * 16):  # the second also reads as an id
        sc = make_spacecraft(org_a, designation, parameters={"bus_v": {"subsystem": "power"}})
        for ref in (designation, str(sc.pk), sc.pk.hex):
            out = io.StringIO()
            call_command("list_telemetry", spacecraft=ref, stdout=out)
            assert designation in out.getvalue()
