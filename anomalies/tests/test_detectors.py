"""Each detector on crafted series, and the episode tracker's persistence / clearing / carry."""

import numpy as np

from anomalies.config import build_detectors
from anomalies.detector_base import ewma, hysteresis
from anomalies.episodes import TrackerState, track
from anomalies.sample_detectors import (
    EWMADetector,
    FlatlineDetector,
    IQRDetector,
    LimitDetector,
    RateDetector,
    ZScoreDetector,
)
from anomalies.stale_detector import StaleDetector


def times(n):
    return np.arange(n, dtype=float)


def test_limit_levels_and_named_thresholds():
    x = np.array([28, 31, 33, 28, 25, 23, 28.0])
    flags = LimitDetector(warn_low=26, warn_high=30, crit_low=24, crit_high=32).evaluate(times(7), x)
    assert flags.level.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert [flags.threshold(i)[0] for i in (1, 2, 4, 5)] == ["warn_high", "crit_high", "warn_low", "crit_low"]
    assert flags.threshold(2)[1] == 32


def test_limit_deadband_keeps_one_violation_while_dithering():
    x = np.array([29, 30.2, 29.8, 30.1, 29.7, 29.4, 30.1])
    plain = LimitDetector(warn_high=30).evaluate(times(7), x).level
    banded = LimitDetector(warn_high=30, deadband=0.5).evaluate(times(7), x).level
    assert plain.tolist() == [0, 1, 0, 1, 0, 0, 1]
    # Out at 30.2, stays out until below 29.5 (29.4), then out again at 30.1.
    assert banded.tolist() == [0, 1, 1, 1, 1, 0, 1]


def test_hysteresis_carries_across_calls():
    enter = np.array([False, True, False, False, False])
    stay = np.array([False, True, True, True, False])
    assert hysteresis(enter, stay, False).tolist() == [False, True, True, True, False]
    assert hysteresis(np.zeros(3, bool), np.array([True, True, False]), True).tolist() == [True, True, False]


def test_persistence_one_noisy_sample_does_not_open():
    x = np.array([28, 31, 28, 28, 31, 31, 28, 28, 28.0])
    detector = LimitDetector(warn_high=30)
    episodes, _ = track(times(9), x, detector.evaluate(times(9), x), persistence=2, clear_after=3)
    assert len(episodes) == 1
    (episode,) = episodes
    assert (episode.started_at, episode.detected_at, episode.count, episode.cleared_at) == (4, 5, 2, 8)


def test_clear_after_n_good_samples_merges_short_dips():
    x = np.array([31, 31, 28, 28, 31, 28, 28, 28, 31.0])
    flags = LimitDetector(warn_high=30).evaluate(times(9), x)
    episodes, state = track(times(9), x, flags, persistence=1, clear_after=3)
    assert [(e.started_at, e.count, e.cleared_at) for e in episodes] == [(0, 3, 7), (8, 1, None)]
    assert state.open


def test_severity_rises_within_episode():
    x = np.array([31, 31, 33, 31, 28, 28, 28.0])
    flags = LimitDetector(warn_high=30, crit_high=32).evaluate(times(7), x)
    (episode,), _ = track(times(7), x, flags, persistence=1, clear_after=2)
    assert episode.level == 2 and episode.critical_since == 2 and episode.peak_value == 33
    assert episode.threshold == "crit_high"


def test_split_evaluation_matches_whole():
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(28, 0.5, 40), np.full(6, 31.0), rng.normal(28, 0.5, 40)]
    t = times(len(x))
    detector = LimitDetector(warn_high=30, deadband=0.3)
    whole, _ = track(t, x, detector.evaluate(t, x), persistence=2, clear_after=3)
    state, parts = TrackerState(), []
    for a in range(0, len(x), 7):
        flags = detector.evaluate(t[a : a + 7], x[a : a + 7], carry=state.carry)
        found, state = track(t[a : a + 7], x[a : a + 7], flags, persistence=2, clear_after=3, state=state)
        parts += found
    assert len(whole) == 1
    assert sum(e.count for e in parts) == whole[0].count
    assert [e.started_at for e in parts if not e.continues] == [whole[0].started_at]
    assert [e.cleared_at for e in parts if e.cleared_at is not None] == [whole[0].cleared_at]


def test_rate_of_change():
    x = np.array([0, 1, 2, 10, 11, 12.0])
    flags = RateDetector(max_per_s=3, crit_per_s=20).evaluate(times(6), x)
    assert flags.level.tolist() == [0, 0, 0, 1, 0, 0]
    assert flags.score[3] == 8
    # Per second, not per sample: 8 units over 4 s is fine.
    assert RateDetector(max_per_s=3).evaluate(np.array([0, 4.0]), np.array([0, 8.0])).level.tolist() == [0, 0]


def test_stale_gap_only_while_spacecraft_talks():
    t = np.array([0, 1, 2, 3, 20, 21, 22.0])
    alive = np.arange(0, 40, 1.0)
    (gap,) = StaleDetector(k=3, crit_k=10, expected_interval_s=1).gaps(t, alive, now=23.0)
    assert gap["last_sample"] == 3 and gap["started_at"] == 6 and gap["ended_at"] == 20 and gap["critical"]
    # The whole spacecraft silent (loss of signal): not this parameter's anomaly.
    assert StaleDetector(k=3, expected_interval_s=1).gaps(t, t, now=23.0) == []
    # Ongoing at `now`.
    *_, ongoing = StaleDetector(k=3, expected_interval_s=1).gaps(t, alive, now=30.0)
    assert ongoing["ended_at"] is None and not ongoing["critical"]


def test_flatline_stuck_value():
    x = np.r_[np.linspace(0, 1, 10), np.full(10, 0.5), np.linspace(1, 2, 5)]
    level = FlatlineDetector(min_samples=5).evaluate(times(len(x)), x).level
    assert level.tolist() == [0] * 14 + [1] * 6 + [0] * 5


def test_zscore_spike_and_warmup():
    rng = np.random.default_rng(1)
    x = rng.normal(10, 1, 200)
    x[150] += 15
    flags = ZScoreDetector(window=60, warn=6, crit=12).evaluate(times(200), x)
    assert np.flatnonzero(flags.level).tolist() == [150]
    assert flags.level[:60].sum() == 0  # no verdict without a full window


def test_iqr_fences():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 300)
    x[200] = 12
    flags = IQRDetector(block=50, warn_k=4, crit_k=20).evaluate(times(300), x)
    assert np.flatnonzero(flags.level).tolist() == [200]


def test_ewma_catches_slow_drift_that_zscore_misses():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, 400)
    x[300:] += np.linspace(0, 6, 100)  # 6 sigma over 100 samples
    z = ZScoreDetector(window=60, warn=6).evaluate(times(400), x).level
    e = EWMADetector(lam=0.2, window=120, lag=30, warn_l=6).evaluate(times(400), x).level
    assert z[300:].sum() == 0
    first = np.flatnonzero(e)[0]
    assert 300 < first < 360 and e[:300].sum() == 0


def test_ewma_matches_recurrence():
    r = np.random.default_rng(5).normal(size=500)
    expected, s = [], 0.0
    for v in r:
        s = 0.8 * s + 0.2 * v
        expected.append(s)
    assert np.allclose(ewma(r, 0.2), expected)


def test_build_detectors_defaults_profile_and_per_mode_limits():
    spec = {
        "type": "float",
        "warn_low": 26,
        "warn_high": 30,
        "limits_by_mode": {"safe": {"warn_high": 31}},
        "detectors": {"zscore": {"warn": 8}, "iqr": {"enabled": False}},
    }
    built = build_detectors(spec, mission_type="CUBESAT", mode="safe")
    assert built["limit"].limits == (26, 31, None, None)
    assert built["zscore"].warn == 8
    assert "iqr" not in built
    assert built["rate"].max_step == (31 - 26) * 0.6  # CubeSat profile default: a step, not a slope
    assert "forecast" in built and built["forecast"].warn_low == 26
    assert build_detectors(spec, mode="nominal")["limit"].limits[1] == 30
    counter = build_detectors({"type": "int"})
    assert set(counter) == {"stale"}
    assert set(build_detectors({"type": "enum", "enum_values": ["A"]})) == {"stale"}


def test_config_validates_detector_settings():
    import pytest

    from missionops.exceptions import DomainError
    from spacecraft.config import validate_parameters

    base = {"subsystem": "power", "type": "float", "warn_high": 30}
    ok = validate_parameters({"v": {**base, "detectors": {"zscore": {"warn": 7, "enabled": True}}}})
    assert ok["v"]["detectors"] == {"zscore": {"warn": 7, "enabled": True}}
    for detectors, field in [
        ({"bogus": {}}, "parameters.v.detectors.bogus"),
        ({"zscore": {"wran": 7}}, "parameters.v.detectors.zscore.wran"),
        ({"zscore": {"warn": -1}}, "parameters.v.detectors.zscore.warn"),
        ({"iqr": {"enabled": "yes"}}, "parameters.v.detectors.iqr.enabled"),
        ({"limit": 3}, "parameters.v.detectors.limit"),
        ([], "parameters.v.detectors"),
    ]:
        with pytest.raises(DomainError) as error:
            validate_parameters({"v": {**base, "detectors": detectors}})
        assert error.value.field == field


def test_rate_default_is_a_step_of_the_band_at_the_series_own_interval():
    detector = RateDetector(max_step=3.0, crit_factor=2.0)
    t = np.arange(0, 100, 10.0)
    x = np.array([0, 1, 0, 1, 0, 5, 5, 5, 12, 12], float)  # a 5-unit step, then a 7-unit one
    flags = detector.evaluate(t, x)
    assert flags.level.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 2, 0]
    assert flags.names[0] == "rate>0.3/s"  # 3 units per 10 s interval
    # Sent faster for a while (1 Hz after 10 s history): small changes are no step, however fast.
    fast = np.r_[t, 100 + np.arange(1, 11.0)]
    dither = 12 + np.array([0.9, 0, 0.9, 0, 0.9, 0, 0.9, 0, 0.9, 0])
    assert not detector.evaluate(fast, np.r_[x, dither]).level[10:].any()


def test_stale_learns_the_interval_or_stays_off():
    from anomalies.stale_detector import StaleDetector

    stale = StaleDetector()
    assert stale.gaps(np.array([0.0, 1.0, 2.0]), np.arange(0, 100.0), 100.0) == []  # too few to know
    events = np.array([0, 3, 4, 40, 41, 90, 200, 201, 400, 900.0])  # sent on events
    assert stale.gaps(events, np.arange(0, 1000.0), 1000.0) == []
    regular = np.arange(0, 50.0)
    (gap,) = stale.gaps(regular, np.arange(0, 100.0), 100.0)
    assert gap["threshold"] == "stale>3x1s" and gap["ended_at"] is None
