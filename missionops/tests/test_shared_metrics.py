"""Ingest metrics summed over every process (issue 22, point 7): what another process (the MQTT
bridge, the simulator, a worker) stores shows on the web process's /metrics, and the counter agrees
with the rows stored."""

import re
import subprocess
import sys
import textwrap

import pytest

from missionops.testing import ROOT, test_database_env

pytestmark = pytest.mark.django_db(transaction=True)


def ingested(body: str) -> dict[str, float]:
    pattern = r'^missionops_samples_ingested_total\{interface="([^"]+)"\} ([0-9.e+]+)$'
    return {interface: float(value) for interface, value in re.findall(pattern, body, re.M)}


def rows_stored(spacecraft) -> int:
    from telemetry.models import ParameterDefinition, Sample

    ids = ParameterDefinition.objects.filter(spacecraft=spacecraft).values("pk")
    return Sample.objects.filter(parameter_id__in=ids).count()


def snapshots(designation: str, first_s: int, count: int) -> list[dict]:
    return [
        {
            "spacecraft": designation,
            "timestamp": f"2026-11-27T10:{(first_s + i) // 60:02d}:{(first_s + i) % 60:02d}Z",
            "parameters": {"bus_voltage": 28.0, "temp_obc": 21.5},
        }
        for i in range(count)
    ]


def test_samples_ingested_by_another_process_count_on_the_web_metrics(client, sc_a, api, operator):
    before = ingested(client.get("/metrics").content.decode())
    assert api(operator).post("/api/v1/telemetry/", snapshots("SC-001", 0, 30), format="json").status_code in (
        200,
        201,
    )
    child = textwrap.dedent(
        f"""
        import django; django.setup()
        from spacecraft.models import Spacecraft
        from telemetry.models import Interface
        from telemetry.services import ingest, organization_scope
        sc = Spacecraft.objects.get(pk="{sc_a.pk}")
        batch = {snapshots("SC-001", 100, 50)!r}
        print(ingest(snapshots=batch, scope=organization_scope(sc.organization), interface=Interface.MQTT).stored)
        """
    )
    env = {**test_database_env(), "DJANGO_SETTINGS_MODULE": "missionops.settings"}
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "100"  # 50 snapshots × 2 parameters, flushed when the process ended

    after = ingested(client.get("/metrics").content.decode())
    added = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    assert added.get("mqtt") == 100.0 and sum(added.values()) == 160.0
    assert sum(added.values()) == rows_stored(sc_a)


def test_a_scrape_answers_while_redis_is_unreachable(client, settings):
    from missionops import shared_metrics

    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    shared_metrics.SharedCounter("missionops_test_probe_total", "probe", ["x"]).labels("a").inc(3)
    try:
        answer = client.get("/metrics")
        assert answer.status_code == 200 and "django_http_requests" in answer.content.decode()
    finally:
        shared_metrics._metrics[:] = [m for m in shared_metrics._metrics if m.name != "missionops_test_probe"]
        shared_metrics._pending.clear()
