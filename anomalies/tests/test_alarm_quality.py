"""Alarm quality on the fault shapes bench/anomaly_eval.py scores: the forecast does not warn while a
level comes back from an excursion, a stuck stretch is no baseline for the statistical detectors,
and (through ingest and the sweeps, on the real database) a bias step, a drift and a stuck value
each give one alarm activation and nothing after they end."""

import datetime as dt

import numpy as np
import pytest

from anomalies.forecast_detector import ForecastDetector, largest_jump
from anomalies.models import Anomaly, Arrival
from anomalies.sample_detectors import EWMADetector, IQRDetector, ZScoreDetector
from anomalies.services import sweeps

STEP_S = 10.0
ORBIT_S = 5400.0
MEAN, SCALE = 28.0, 0.4
LIMITS = {"warn_low": MEAN - 3 * SCALE, "warn_high": MEAN + 3 * SCALE}


def orbiting(hours: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10 s samples of an orbit's swing plus noise (as the bench simulates them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, hours * 3600, STEP_S)
    x = MEAN + 0.6 * SCALE * np.sin(2 * np.pi * t / ORBIT_S + 1.0) + rng.normal(0, 0.4 * SCALE, len(t))
    return t, x


def bias_step(t, x, start, end, size=2.5 * SCALE):
    x = x.copy()
    x[(t >= start) & (t < end)] += size
    return x


def drift(t, x, start, end):
    """Up from the mean, reaching the warning limit at 70 % of the fault; back at once at its end."""
    x = x.copy()
    inside = (t >= start) & (t < end)
    x[inside] += 3 * SCALE * (t[inside] - start) / (0.7 * (end - start))
    return x


def warned_at(detector, t, x, limit: str | None = None) -> np.ndarray:
    """Evaluation times at which the forecast warns (of crossing `limit`, if given)."""
    times, _, flags = detector.forecasts(t, x, None)
    warns = flags.level > 0
    if limit is not None:
        warns &= flags.code == flags.names.index(f"forecast {limit}")
    return times[warns]


def test_forecast_does_not_warn_while_a_level_comes_back_from_a_bias_step():
    t, x = orbiting(12, seed=11)
    start, end = 5 * 3600, 5 * 3600 + 2700
    x = bias_step(t, x, start, end)
    # Neither while the average climbs through the step nor while it falls back: the step in the
    # samples explains the average's ramp (a second alarm activation of the same fault before).
    assert not len(warned_at(ForecastDetector(**LIMITS), t, x))
    # Each rule alone holds: without the earlier level (baseline_s 0) the step does.
    assert not len(warned_at(ForecastDetector(baseline_s=0, **LIMITS), t, x))
    ramp = ForecastDetector(**LIMITS).fit(t, x, float(start + 3600))
    assert ramp["slope_per_s"] > 0 and not ramp["significant"]
    assert largest_jump(t, x, 1.0) > 2 * SCALE and largest_jump(t, x, -1.0) > 2 * SCALE


def test_forecast_warns_on_a_drift_and_not_after_it_ends():
    t, x = orbiting(14, seed=12)
    start, end = 4 * 3600, 4 * 3600 + 3.5 * 3600
    x = drift(t, x, start, end)
    detector = ForecastDetector(**LIMITS)
    warned = warned_at(detector, t, x)
    crossing = start + 0.7 * (end - start)
    assert len(warned) and start < warned[0] < crossing - 1200  # at least 20 minutes ahead
    assert not (warned >= end).any()
    fit = detector.fit(t, x, float(end + 1800))
    assert fit["recovering"] and not fit["warns"]
    # The drift's sudden end is a step too: without the earlier level nothing warns after it either.
    assert not (warned_at(ForecastDetector(baseline_s=0, **LIMITS), t, x) >= end).any()
    # A drift is no step: its 5-minute means move by swing and noise, well under the half of the
    # average's rise over an orbit that marks a step (0.9 σ here).
    assert largest_jump(t[t < end], x[t < end], 1.0) < SCALE


def test_forecast_without_earlier_samples_still_warns():
    """A new parameter (nothing before the window): no earlier level, so no recovery verdict."""
    t = np.arange(0, 9000 + STEP_S, STEP_S)  # the window and its average, nothing before
    x = 80 - 40 * t / t[-1]
    found = ForecastDetector(warn_low=30.0, warn_high=100.0).fit(t, x, float(t[-1]))
    assert found["baseline"] is None and found["warns"] and found["limit_name"] == "warn_low"


@pytest.mark.parametrize(
    "detector",
    [ZScoreDetector(window=60, warn=6), EWMADetector(lam=0.2, window=120, lag=0, warn_l=9), IQRDetector(block=60)],
    ids=["zscore", "ewma", "iqr"],
)
def test_a_stuck_stretch_is_no_baseline(detector):
    """After a stuck value ends, a window holding it has almost no spread: every normal sample
    after it would look wild. Those windows give no verdict (the flatline detector has the fault)."""
    t, x = orbiting(6, seed=13)
    start, end = 2 * 3600, 2 * 3600 + 2400
    stuck = (t >= start) & (t < end)
    x[stuck] = x[np.argmax(stuck)]
    level = detector.evaluate(t, x).level
    assert not level[t >= start].any()
    # The same window without the stuck stretch judges normal samples as normal too.
    assert not detector.evaluate(t, orbiting(6, seed=13)[1]).level.any()


# --- end to end: ingest, the sweeps, the stored alarms ---------------------------------------------


BENCH_SPEC = {
    "type": "float",
    "subsystem": "power",
    "units": "V",
    "warn_low": MEAN - 3 * SCALE,
    "warn_high": MEAN + 3 * SCALE,
    "crit_low": MEAN - 4.5 * SCALE,
    "crit_high": MEAN + 4.5 * SCALE,
    "suppress_in_modes": [],
}


@pytest.fixture
def orbiter(make_spacecraft, org_a):
    """The bench's parameter: warning limits at ±3 σ, critical at ±4.5 σ, never suppressed."""
    return make_spacecraft(org_a, "SC-ORBIT", parameters={"bus_voltage": BENCH_SPEC})


def play_back(sc, x, send) -> dt.datetime:
    """Two days old, in 2-hour batches (a ground station's dumps), then the sweeps until done."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(microsecond=0)
    per_batch = int(7200 / STEP_S)
    for i in range(0, len(x), per_batch):
        part = [round(float(v), 6) for v in x[i : i + per_batch]]
        send(sc, start, {"bus_voltage": part}, step_s=STEP_S, offset_s=i * STEP_S)
    for _ in range(20):
        sweeps.sweep()
        if not Arrival.objects.exists():
            break
    return start


def seconds(text: str, start: dt.datetime) -> float:
    return (dt.datetime.fromisoformat(text) - start).total_seconds()


def activations(sc, start) -> list[tuple[float, float | None]]:
    (alarm,) = Anomaly.objects.filter(spacecraft=sc)
    return [(seconds(a, start), seconds(b, start) if b else None) for a, b in alarm.activations]


@pytest.mark.django_db
def test_a_played_back_bias_steps_end_is_no_new_activation(orbiter, send):
    """The change detectors see the step's onset; their baselines follow it within minutes, and
    its end (back to the earlier level) is not a change of its own: nothing starts after it."""
    t, x = orbiting(12, seed=21)
    fault_start, fault_end = 5 * 3600, 5 * 3600 + 3000
    start = play_back(orbiter, bias_step(t, x, fault_start, fault_end), send)
    spans = activations(orbiter, start)
    assert fault_start <= spans[0][0] <= fault_start + 300
    assert all(first < fault_end for first, _ in spans)
    (alarm,) = Anomaly.objects.filter(spacecraft=orbiter)
    changes = [d for d in alarm.detectors if d["kind"] in ("rate", "zscore", "iqr", "ewma")]
    assert changes and all(seconds(d["last_at"], start) < fault_start + 1200 for d in changes)


@pytest.mark.django_db
def test_a_played_back_drift_is_warned_once_and_nothing_follows_its_end(orbiter, send):
    t, x = orbiting(14, seed=22)
    fault_start, fault_end = 4 * 3600, 4 * 3600 + 3.5 * 3600
    start = play_back(orbiter, drift(t, x, fault_start, fault_end), send)
    ((first, last),) = activations(orbiter, start)
    (alarm,) = Anomaly.objects.filter(spacecraft=orbiter)
    forecast = next(d for d in alarm.detectors if d["kind"] == "forecast")
    warned = seconds(forecast["first_at"], start)
    assert fault_start < warned < fault_start + 0.7 * (fault_end - fault_start)  # before the crossing
    assert first == warned and last <= fault_end + 900


@pytest.mark.django_db
def test_a_played_back_stuck_value_is_one_activation(orbiter, send):
    t, x = orbiting(8, seed=23)
    fault_start, fault_end = 3 * 3600, 3 * 3600 + 2400
    stuck = (t >= fault_start) & (t < fault_end)
    x[stuck] = x[np.argmax(stuck)]
    start = play_back(orbiter, x, send)
    ((first, last),) = activations(orbiter, start)
    (alarm,) = Anomaly.objects.filter(spacecraft=orbiter)
    assert alarm.detector == "flatline" and first < fault_start + 120 and last <= fault_end + 600


@pytest.fixture
def iqr_orbiter(make_spacecraft, org_a):
    """The bench's parameter with its limits, IQR and EWMA only: the rate and z-score detectors flag a
    single wild sample by design (a jump, a sample unlike its window), so they are off here."""
    spec = {**BENCH_SPEC, "detectors": {"rate": {"enabled": False}, "zscore": {"enabled": False}}}
    return make_spacecraft(org_a, "SC-IQR", parameters={"bus_voltage": spec})


def excursion(samples: int) -> tuple[np.ndarray, int]:
    """Six hours of the orbit with `samples` samples in a row at +5 σ (beyond the IQR fence) at 3 h."""
    t, x = orbiting(6, seed=31)
    at = int(3 * 3600 / STEP_S)
    x[at : at + samples] = MEAN + 5 * SCALE
    return x, at


@pytest.mark.django_db
def test_one_noise_sample_raises_no_iqr_alarm(iqr_orbiter, send):
    """On-delay (ISA-18.2): the IQR detector needs two samples in a row beyond its fence. One wild
    sample is beyond it (the detector flags it), yet no alarm opens: the limit check wants two too."""
    x, at = excursion(1)
    t = np.arange(len(x)) * STEP_S
    assert IQRDetector(block=60).evaluate(t, x).level[at] > 0
    play_back(iqr_orbiter, x, send)
    assert not Anomaly.objects.filter(spacecraft=iqr_orbiter).exists()


@pytest.mark.django_db
def test_a_sustained_excursion_raises_an_iqr_alarm(iqr_orbiter, send):
    x, at = excursion(6)
    start = play_back(iqr_orbiter, x, send)
    (alarm,) = Anomaly.objects.filter(spacecraft=iqr_orbiter)
    iqr = next(d for d in alarm.detectors if d["kind"] == "iqr")
    # Opened at the second sample beyond the fence, dated from the first.
    assert seconds(iqr["first_at"], start) == at * STEP_S


def test_zscore_mean_of_six_finds_bias_steps_one_sample_misses():
    """A 2.5 σ step in 0.4 σ noise and the orbit's swing: one sample scores about 6 against a
    10-minute baseline (warn 7), the mean of six about 15. Flagged at its onset only: its end is a
    return to the earlier level, and the same series without the step is never flagged."""
    single, averaged = 0, 0
    for seed in range(20, 30):
        t, x = orbiting(12, seed=seed)
        start, end = 5 * 3600 + 2400, 5 * 3600 + 4800
        stepped = bias_step(t, x, start, end)
        single += (ZScoreDetector(window=60, warn=7, earlier_window=720).evaluate(t, stepped).level > 0).any()
        six = ZScoreDetector(window=60, warn=7, earlier_window=720, span=6)
        flagged = t[six.evaluate(t, stepped).level > 0]
        averaged += len(flagged) > 0
        assert ((flagged >= start) & (flagged < start + 120)).all()
        assert not (six.evaluate(t, x).level > 0).any()
    assert averaged == 10 and single <= 6
