"""`make run`'s supervisor restarts a process that exits (honcho stopped everything instead)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from missionops.supervise import read_procfile, supervisord_conf

pytestmark = pytest.mark.slow


def test_reads_the_procfile():
    from missionops.supervise import ROOT

    names = [name for name, _ in read_procfile(ROOT / "Procfile")]
    assert {"web", "worker", "beat", "jobworker", "mqtt"} <= set(names)


def test_a_process_that_exits_is_started_again(tmp_path):
    starts = tmp_path / "starts"
    procfile = tmp_path / "Procfile"
    crash = f"import time; open('{starts}', 'a').write('x'); time.sleep(1.5); raise SystemExit(1)"
    procfile.write_text(f'flaky: {sys.executable} -c "{crash}"\nsteady: sleep 60\n')
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "missionops.supervise", str(procfile)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not starts.exists() or len(starts.read_text()) < 3):
            time.sleep(0.2)
        assert starts.exists() and len(starts.read_text()) >= 3  # crashed twice, started again each time
        assert supervisor.poll() is None  # and the others kept running
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.wait(timeout=30)


def test_percent_signs_are_escaped(tmp_path):
    conf = supervisord_conf([("x", "echo 100%")], run_dir=tmp_path)
    assert "echo 100%%" in conf
