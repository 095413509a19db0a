"""Detector settings: the API refuses values the detectors cannot compute with (400 naming the
setting, nothing written), and one stored before that check turns its detector off instead of
failing the ingest, the analysis or the sweep of every organization's spacecraft."""

import datetime as dt

import pytest

from anomalies.models import Anomaly, DetectorCursor
from anomalies.services import sweeps
from spacecraft.models import ConfigVersion

pytestmark = pytest.mark.django_db
BAD_SETTINGS = [
    ("ewma", "lam", 0),
    ("ewma", "lam", 1),
    ("ewma", "lam", 2),
    ("ewma", "lam", -0.5),
    ("ewma", "window", 1e300),
    ("ewma", "window", 2.5),
    ("zscore", "window", 10**30),
    ("iqr", "block", 0),
    ("limit", "persistence", 0),
    ("limit", "clear_after", None),
    ("flatline", "min_samples", 1),
    ("zscore", "warn", 0),
    ("stale", "k", 1e300),
    ("limit", "deadband_pct", 500),
    ("rate", "crit_factor", 0.5),
    ("ewma", "lag", True),
    ("ewma", "warn_l", "6"),
    ("zscore", "span", 0),
    ("zscore", "span", 2.5),
]


def config_url(sc):
    return f"/api/v1/spacecraft/{sc.pk}/config/"


def temperature(detectors=None):
    spec = {"subsystem": "thermal", "units": "C", "type": "float", "warn_high": 10.0, "crit_high": 20.0}
    if detectors is not None:
        spec["detectors"] = detectors
    return {"temp": spec}


@pytest.mark.parametrize(("kind", "key", "value"), BAD_SETTINGS)
def test_config_refuses_settings_the_detectors_cannot_use(api, operator, make_spacecraft, org_a, kind, key, value):
    sc = make_spacecraft(org_a, "AAA-1", parameters=temperature())
    versions = ConfigVersion.objects.filter(spacecraft=sc).count()
    r = api(operator).put(config_url(sc), {"parameters": temperature({kind: {key: value}})}, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["field"] == f"parameters.temp.detectors.{kind}.{key}"
    assert ConfigVersion.objects.filter(spacecraft=sc).count() == versions


def test_config_refuses_non_finite_numbers(api, operator, make_spacecraft, org_a):
    sc = make_spacecraft(org_a, "AAA-1", parameters=temperature())
    body = '{"parameters": {"temp": {"subsystem": "thermal", "detectors": {"limit": {"persistence": 1e400}}}}}'
    r = api(operator).put(config_url(sc), body, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "parameters.temp.detectors.limit.persistence"


def test_config_takes_settings_within_range(api, operator, make_spacecraft, org_a):
    sc = make_spacecraft(org_a, "AAA-1", parameters=temperature())
    detectors = {
        "ewma": {"lam": 0.05, "window": 300, "lag": 0, "warn_l": 4.5},
        "limit": {"persistence": 1, "clear_after": 5.0, "deadband": None},
        "rate": {"max_per_s": 0, "crit_per_s": None},
    }
    r = api(operator).put(config_url(sc), {"parameters": temperature(detectors)}, format="json")
    assert r.status_code in (200, 201), r.content


def store_unchecked(sc, detectors):
    """A configuration saved before its settings were checked."""
    latest = ConfigVersion.objects.filter(spacecraft=sc).order_by("-version").first()
    ConfigVersion.objects.filter(pk=latest.pk).update(parameters=temperature(detectors))


def send(sc, start, values):
    from telemetry import services as telemetry

    snapshots = [
        {
            "spacecraft": str(sc.pk),
            "timestamp": (start + dt.timedelta(seconds=i)).isoformat(),
            "parameters": {"temp": v},
        }
        for i, v in enumerate(values)
    ]
    return telemetry.ingest(snapshots=snapshots, scope=telemetry.organization_scope(sc.organization))


def swept_stuck(sc) -> bool:
    """Its stuck stretch is on an alarm (the z-score's mean of six may see the jump to it first)."""
    return any(d["kind"] == "flatline" for a in Anomaly.objects.filter(spacecraft=sc) for d in a.detectors)


@pytest.mark.parametrize(("kind", "key", "value"), [("ewma", "lam", 0), ("ewma", "lam", 2), ("ewma", "window", 1e300)])
def test_stored_bad_setting_turns_its_detector_off(api, operator, make_spacecraft, org_a, org_b, kind, key, value):
    bad = make_spacecraft(org_a, "AAA-1", parameters=temperature())
    store_unchecked(bad, {kind: {key: value}})
    good = make_spacecraft(org_b, "ZZZ-1", parameters=temperature())
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    send(bad, start, [1.0 + (i % 3) for i in range(150)])
    send(good, start, [1.0 + (i % 3) for i in range(140)] + [5.0] * 10)  # then stuck: a flatline
    r = api(operator).get(f"/api/v1/telemetry/analyze/?spacecraft={bad.pk}")
    assert r.status_code == 200 and all(f["detector"] != kind for f in r.json()["findings"])
    swept = []
    result = sweeps.sweep(progress=lambda sc: swept.append(sc.designation))
    assert swept == ["AAA-1", "ZZZ-1"] and result.failed == 0
    cursors = DetectorCursor.objects.filter(parameter__spacecraft=bad, evaluated_until__isnull=False)
    evaluated = set(cursors.values_list("detector", flat=True))
    assert kind not in evaluated and "zscore" in evaluated  # only the refused detector is off
    assert swept_stuck(good)


def test_one_spacecraft_failing_does_not_stop_the_sweep(make_spacecraft, org_a, org_b, caplog):
    bad = make_spacecraft(org_a, "AAA-1", parameters=temperature())
    good = make_spacecraft(org_b, "ZZZ-1", parameters=temperature())
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=200)
    send(bad, start, [1.0 + (i % 3) for i in range(150)])
    send(good, start, [1.0 + (i % 3) for i in range(140)] + [5.0] * 10)
    store_unchecked(bad, ["not an object"])  # what the detectors cannot read at all
    swept = []
    result = sweeps.sweep(progress=lambda sc: swept.append(sc.designation))
    assert swept == ["AAA-1", "ZZZ-1"] and result.failed == 1 and result.as_dict()["failed"] == 1
    assert "anomaly sweep of spacecraft AAA-1" in caplog.text
    assert swept_stuck(good)
    assert not DetectorCursor.objects.filter(parameter__spacecraft=bad).exists()  # its work rolled back
