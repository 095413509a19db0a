"""The multi-host drill (bench/cluster.py --quick): hosts from network namespaces, faults under load,
and nothing lost. Skipped, with the reason, where namespaces cannot be made (not root, no iproute2)."""

import importlib.util
import json
import math
import subprocess
import sys

import pytest

from missionops.testing import ROOT


def load_drill():
    spec = importlib.util.spec_from_file_location("bench_cluster", ROOT / "bench" / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_multi_host_drill_loses_nothing_and_recovers():
    why = load_drill().namespaces_allowed()
    if why:
        pytest.skip(f"cluster drill: {why}")
    run = subprocess.run(
        [sys.executable, "bench/cluster.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("--json "))
    result = json.loads(line.removeprefix("--json "))
    samples, jobs, events, sockets = result["samples"], result["jobs"], result["events"], result["sockets"]
    assert samples["acknowledged"] > 0 and samples["lost"] == 0, samples
    assert jobs["exactly_once"], jobs
    # Both worker hosts claimed jobs when both ran (Job.worker names the host).
    assert all(jobs["claimed_by_host"]["two"][host] > 0 for host in ("wk1", "wk2")), jobs["claimed_by_host"]
    assert sum(jobs["claimed_by_host"]["two"].values()) == sum(jobs["claimed_by_host"]["one"].values()), jobs
    assert events["missing"] == 0 and events["in_stream"] == events["in_stream_distinct"] == events["in_log"], events
    assert sockets["reconnected"] and result["socket_on_b_heard_ingest_via_a"], sockets
    assert result["series_reads"]["ok"] > 0
    for fault in result["faults"]:
        assert fault["recovered_s"] is not None and math.isfinite(fault["recovered_s"]), fault
    assert result["ingest"]["one_web_samples_s"] > 0 and result["jobs"]["two_hosts_jobs_s"] > 0


def test_the_drill_fails_when_a_worker_host_claimed_no_job():
    drill = load_drill()
    both = {"jobs": {"claimed_by_host": {"one": {"wk1": 300, "wk2": 0}, "two": {"wk1": 106, "wk2": 194}}}}
    assert drill.drill_failures(both) == []
    idle = {"jobs": {"claimed_by_host": {"one": {"wk1": 300, "wk2": 0}, "two": {"wk1": 300, "wk2": 0}}}}
    assert drill.drill_failures(idle) == [
        "worker host wk2 claimed no job in the two-host round (claimed: {'wk1': 300, 'wk2': 0})"
    ]


def test_the_drill_exits_1_when_a_worker_host_claimed_no_job(monkeypatch, capsys):
    drill = load_drill()
    idle = {"jobs": {"claimed_by_host": {"one": {"wk1": 300, "wk2": 0}, "two": {"wk1": 300, "wk2": 0}}}}
    monkeypatch.setattr(drill, "namespaces_allowed", lambda: None)
    monkeypatch.setattr(drill, "orchestrate", lambda args: idle)
    monkeypatch.setattr(drill, "report", lambda result: None)
    monkeypatch.setattr(sys, "argv", ["cluster.py", "--quick"])
    assert drill.main() == 1
    out, err = capsys.readouterr()
    assert out.startswith("--json ") and "wk2 claimed no job in the two-host round" in err
