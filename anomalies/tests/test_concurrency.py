"""Two sweeps at once, as real processes on the test database: one episode, never two."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from anomalies.models import Anomaly, DetectorCursor
from missionops import testing

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_sweeps_make_one_episode_each(sc_a, send):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    noise = [20.0 + 0.1 * (i % 7) for i in range(150)]
    send(sc_a, start, {"payload_temp": noise[:100] + [20.35] * 30 + noise[:40], "bus_voltage": [28.2] * 30})
    command = [sys.executable, "manage.py", "sweep_anomalies", "--spacecraft", sc_a.designation, "--no-escalate"]
    procs = [
        subprocess.Popen(
            command, cwd=testing.ROOT, env=testing.test_database_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    results = [json.loads(o[0].decode().strip().splitlines()[-1]) for o in outputs]
    stuck = Anomaly.objects.filter(spacecraft=sc_a, parameter_name="payload_temp", detector="flatline")
    assert stuck.count() == 1
    assert sum(r["opened"] for r in results) == Anomaly.objects.filter(spacecraft=sc_a).count()
    # A third run over the same data changes nothing.
    before = {c.pk: c.evaluated_until for c in DetectorCursor.objects.all()}
    third = subprocess.run(
        command, cwd=testing.ROOT, env=testing.test_database_env(), capture_output=True, timeout=120, check=True
    )
    assert json.loads(third.stdout.decode().strip().splitlines()[-1])["opened"] == 0
    assert stuck.count() == 1 and {c.pk: c.evaluated_until for c in DetectorCursor.objects.all()} == before
