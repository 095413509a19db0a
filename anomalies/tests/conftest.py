import datetime as dt

import pytest

from telemetry import services as telemetry


@pytest.fixture
def t0():
    """A fixed, recent whole second: samples are placed relative to it (the clock is passed in)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)


@pytest.fixture
def send(db):
    """send(sc, t0, {param: [values...]}, step_s=1, offset_s=0): ingest one snapshot per index."""

    def run(sc, start, series: dict, step_s: float = 1.0, offset_s: float = 0.0):
        length = max(len(v) for v in series.values())
        snapshots = []
        for i in range(length):
            moment = start + dt.timedelta(seconds=offset_s + i * step_s)
            values = {name: v[i] for name, v in series.items() if i < len(v) and v[i] is not None}
            if values:
                snapshots.append({"spacecraft": str(sc.pk), "timestamp": moment.isoformat(), "parameters": values})
        return telemetry.ingest(snapshots=snapshots, scope=telemetry.organization_scope(sc.organization))

    return run


@pytest.fixture
def limited(make_spacecraft, org_a):
    """A spacecraft with one limited parameter (deadband 0.5, persistence 2, clear after 3) and a
    latching one, plus a neighbour in the same subsystem for the onset context."""
    params = {
        "bus_voltage": {
            "subsystem": "power",
            "units": "V",
            "type": "float",
            "warn_low": 26.0,
            "warn_high": 30.0,
            "crit_low": 24.0,
            "crit_high": 32.0,
            "limits_by_mode": {"safe": {"warn_high": 31.0}},
            "detectors": {"limit": {"deadband": 0.5, "persistence": 2, "clear_after": 3}},
        },
        "battery_temp": {
            "subsystem": "thermal",
            "units": "degC",
            "type": "float",
            "warn_high": 35.0,
            "crit_high": 45.0,
            "latching": True,
            "detectors": {"limit": {"persistence": 1, "clear_after": 2}},
        },
        "battery_soc": {"subsystem": "power", "units": "%", "type": "float"},
    }
    return make_spacecraft(org_a, "SC-LIM", parameters=params)


@pytest.fixture
def alarm(limited, send, t0):
    """A critical anomaly on `limited`, made through the real ingest path."""
    from anomalies.models import Anomaly

    send(limited, t0, {"bus_voltage": [33.0, 33.5]})
    return Anomaly.objects.get(spacecraft=limited, parameter_name="bus_voltage")
