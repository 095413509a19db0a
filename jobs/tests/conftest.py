import subprocess
import sys

import pytest

from missionops.testing import ROOT, test_database_env

SQUARE = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}


@pytest.fixture
def submit(owner, org_a):
    from jobs.services import submit_job

    def make(kind="sleep", params=None, organization=None, actor=None, **spec):
        if kind == "tile":
            spec.setdefault("footprint", SQUARE)
        return submit_job(
            organization=organization or org_a, actor=actor or owner, kind=kind, params=params or {}, **spec
        )

    return make


@pytest.fixture
def claimer():
    from jobs.services import Claimer

    return Claimer(worker="test-worker", host="test-host", lease_s=30)


@pytest.fixture
def gpus(db):
    """Two simulated GPU slots on the test claimer's host."""
    from jobs import nvml
    from jobs.services import register_host_gpus

    infos = [nvml.GpuInfo(i, nvml.SIMULATED_NAME, f"sim-{i}", 16384, True) for i in range(2)]
    return register_host_gpus(host="test-host", gpus=infos)


def start_worker(*args: str, host: str = "proc-host") -> subprocess.Popen:
    """A real `manage.py job_worker` process on this run's test database."""
    command = [sys.executable, "manage.py", "job_worker", "--host", host, "--sample-s", "0", "-v", "0", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=test_database_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.fixture
def workers():
    procs: list[subprocess.Popen] = []

    def start(*args, **kwargs):
        proc = start_worker(*args, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
