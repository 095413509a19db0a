"""Detectors: each a small class whose `evaluate(t, x)` flags every sample of a series at once (numpy).

`t` are sample times (float seconds, any epoch, increasing), `x` the values. A detector returns
Flags: per sample a level (0 good, 1 warning, 2 critical), a score (how far out: the episode's peak
is the sample with the highest score), and which named threshold applies with its value. Turning
flags into episodes (persistence, clearing, latching) is `episodes.track`, shared by all detectors.

Stateful checks carry their state between calls in `carry` (the limits' hysteresis, the previous
sample for rate and stuck value), so evaluating a series in pieces gives the same flags as at once.
"""

from dataclasses import dataclass, field

import numpy as np

from .models import DetectorKind

WARNING, CRITICAL = 1, 2


@dataclass
class Flags:
    level: np.ndarray  # int8 per sample
    score: np.ndarray  # float per sample
    code: np.ndarray  # int8 per sample: index into names
    names: tuple  # threshold names
    limits: tuple  # threshold value per name (None where it has no single value)
    carry: dict = field(default_factory=dict)

    def threshold(self, index: int) -> tuple[str, float | None]:
        code = int(self.code[index])
        return self.names[code], self.limits[code]


def _empty(n: int, names=("-",), limits=(None,)) -> Flags:
    return Flags(np.zeros(n, np.int8), np.zeros(n), np.zeros(n, np.int8), names, limits)


def hysteresis(enter: np.ndarray, stay: np.ndarray, prior: bool) -> np.ndarray:
    """In violation from a sample that `enter`s until the first one that no longer `stay`s
    (enter implies stay): the deadband, without a per-sample loop."""
    entered = np.cumsum(enter, dtype=np.int64) + int(prior)
    base = np.maximum.accumulate(np.where(stay, 0, entered))
    return stay & (entered > base)


def trailing_stats(x: np.ndarray, window: int, lag: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of x[i-lag-window : i-lag] for each i, and whether i has that
    much history. Cumulative sums over values centred first, so large offsets lose no precision."""
    n = len(x)
    centre = float(x[0]) if n else 0.0
    c = x - centre
    s1 = np.concatenate(([0.0], np.cumsum(c)))
    s2 = np.concatenate(([0.0], np.cumsum(c * c)))
    end = np.arange(n) - lag
    start = end - window
    ok = start >= 0
    a, b = np.clip(start, 0, n), np.clip(end, 0, n)
    mean = (s1[b] - s1[a]) / window
    var = np.maximum((s2[b] - s2[a]) / window - mean * mean, 0.0)
    return mean + centre, np.sqrt(var), ok


def ewma(r: np.ndarray, lam: float, start: float = 0.0, chunk: int = 64) -> np.ndarray:
    """s_i = (1 - lam) s_{i-1} + lam r_i, vectorised: closed form within fixed-size chunks (the
    powers stay well inside float range), then one scalar recurrence over the chunk boundaries."""
    n = len(r)
    if n == 0:
        return r.astype(float)
    a = 1.0 - lam
    chunks = -(-n // chunk)
    padded = np.zeros(chunks * chunk)
    padded[:n] = r
    block = padded.reshape(chunks, chunk)
    j = np.arange(chunk)
    grow = a ** (-j)  # a^-j
    within = lam * np.cumsum(block * grow, axis=1) / grow  # each chunk as if it started from 0
    decay = a ** (j + 1)
    carry = np.empty(chunks)
    s = start
    for k in range(chunks):  # one scalar step per chunk
        carry[k] = s
        s = decay[-1] * s + within[k, -1]
    return (within + decay * carry[:, None]).ravel()[:n]


class Detector:
    kind: str = ""
    history = 0  # samples of history before the first evaluated sample that the detector needs

    def __init__(self, *, persistence: int = 1, clear_after: int = 3, **settings):
        self.persistence = max(1, int(persistence))
        self.clear_after = max(1, int(clear_after))

    def evaluate(self, t: np.ndarray, x: np.ndarray, *, carry: dict | None = None) -> Flags:
        """Flags for samples `x` at times `t`; `carry` is the state left by the previous window.
        Window detectors override this; the stale detector works on gaps instead."""
        raise TypeError(f"{type(self).__name__} does not evaluate sample windows")


class LimitDetector(Detector):
    """warn/crit low/high with a deadband: once out, a value must come back inside the limit by the
    deadband before the violation ends, so a value dithering on the limit is one episode."""

    kind = DetectorKind.LIMIT
    NAMES = ("warn_low", "warn_high", "crit_low", "crit_high")

    def __init__(self, *, warn_low=None, warn_high=None, crit_low=None, crit_high=None, deadband=0.0, **settings):
        super().__init__(**settings)
        self.limits = (warn_low, warn_high, crit_low, crit_high)
        self.deadband = max(0.0, float(deadband or 0.0))

    def evaluate(self, t, x, *, carry=None):
        carry = carry or {}
        n = len(x)
        states = []
        new_carry = {}
        for name, limit in zip(self.NAMES, self.limits, strict=True):
            if limit is None:
                states.append(np.zeros(n, bool))
                continue
            if name.endswith("high"):
                enter, stay = x > limit, x > limit - self.deadband
            else:
                enter, stay = x < limit, x < limit + self.deadband
            state = hysteresis(enter, stay, bool(carry.get(name)))
            states.append(state)
            new_carry[name] = bool(state[-1]) if n else bool(carry.get(name))
        warn_low, warn_high, crit_low, crit_high = states
        crit = crit_low | crit_high
        level = np.where(crit, CRITICAL, np.where(warn_low | warn_high, WARNING, 0)).astype(np.int8)
        code = np.select([crit_high, crit_low, warn_high], [3, 2, 1], 0).astype(np.int8)
        wl, wh, cl, ch = self.limits
        low, high = (wl if wl is not None else cl), (wh if wh is not None else ch)
        score = np.zeros(n)
        if high is not None:
            score = np.maximum(score, x - high)
        if low is not None:
            score = np.maximum(score, low - x)
        return Flags(level, score, code, self.NAMES, self.limits, new_carry)


class RateDetector(Detector):
    """|dx/dt| above a maximum slope (units per second). Given as `max_per_s`, or as `max_step`: the
    largest change between two samples, turned into a slope with the series' own median interval,
    so the same step is caught whether a parameter is sent every second or every minute (and a
    sample must also change by at least `max_step`)."""

    kind = DetectorKind.RATE
    history = 1

    def __init__(self, *, max_per_s=None, crit_per_s=None, max_step=None, crit_factor=2.0, **settings):
        super().__init__(**settings)
        self.max_per_s, self.crit_per_s = max_per_s, crit_per_s
        self.max_step, self.crit_factor = max_step, float(crit_factor)

    def thresholds(self, t) -> tuple[float | None, float | None]:
        if self.max_per_s or not self.max_step:
            return self.max_per_s, self.crit_per_s
        steps = np.diff(t)
        steps = steps[steps > 0]
        if not len(steps):
            return None, None
        warn = self.max_step / float(np.median(steps))
        return warn, warn * self.crit_factor

    def evaluate(self, t, x, *, carry=None):
        n = len(x)
        carry = carry or {}
        warn, crit_per_s = self.thresholds(
            np.r_[carry.get("t", np.nan), t][~np.isnan(np.r_[carry.get("t", np.nan), t])]
        )
        names = (f"rate>{warn or 0:.3g}/s", f"rate>{crit_per_s or 0:.3g}/s")
        if not warn or n == 0:
            return _empty(n, names, (warn, crit_per_s))
        prev_t = np.r_[carry.get("t", np.nan), t[:-1]]
        prev_x = np.r_[carry.get("x", np.nan), x[:-1]]
        dt = t - prev_t
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.abs((x - prev_x) / np.where(dt > 0, dt, np.nan))
        slope = np.nan_to_num(slope, nan=0.0)
        over_warn, over_crit = slope > warn, (slope > crit_per_s if crit_per_s else np.zeros(n, bool))
        if self.max_step and not self.max_per_s:
            # A step is a change between two samples: one sent faster than usual (a pass at 1 Hz
            # after history at 10 s) must change by as much, not merely as fast.
            step = np.abs(np.nan_to_num(x - prev_x, nan=0.0))
            over_warn &= step > self.max_step
            over_crit &= step > self.max_step * self.crit_factor
        level = np.where(over_crit, CRITICAL, np.where(over_warn, WARNING, 0)).astype(np.int8)
        crit = over_crit
        return Flags(level, slope, crit.astype(np.int8), names, (warn, crit_per_s), {"t": t[-1], "x": x[-1]})


class FlatlineDetector(Detector):
    """A stuck sensor: the same value `min_samples` times in a row (for parameters that are never
    naturally constant; counters and enums are not checked)."""

    kind = DetectorKind.FLATLINE

    def __init__(self, *, min_samples=8, **settings):
        super().__init__(**settings)
        self.min_samples = max(2, int(min_samples))
        self.history = self.min_samples

    def evaluate(self, t, x, *, carry=None):
        n = len(x)
        names = (f"stuck>={self.min_samples} samples",)
        if n == 0:
            return _empty(0, names)
        carry = carry or {}
        same = np.r_[x[0] == carry.get("x", np.nan), x[1:] == x[:-1]]
        index = np.arange(n)
        last_break = np.maximum.accumulate(np.where(same, -1, index))
        run = np.where(last_break >= 0, index - last_break + 1, index + 1 + int(carry.get("run", 0)))
        level = (run >= self.min_samples).astype(np.int8)
        return Flags(level, run.astype(float), np.zeros(n, np.int8), names, (None,), {"x": x[-1], "run": int(run[-1])})


class ZScoreDetector(Detector):
    """|x - mean| / std against the trailing `window` samples (optionally `lag` samples back)."""

    kind = DetectorKind.ZSCORE

    def __init__(self, *, window=60, lag=0, warn=6.0, crit=10.0, min_std=1e-9, **settings):
        super().__init__(**settings)
        self.window, self.lag = max(5, int(window)), max(0, int(lag))
        self.warn, self.crit, self.min_std = float(warn), float(crit), float(min_std)
        self.history = self.window + self.lag

    def evaluate(self, t, x, *, carry=None):
        mean, std, ok = trailing_stats(x, self.window, self.lag)
        # A flat baseline (a stuck sensor, a constant) gives no verdict rather than infinite scores.
        ok &= std > self.min_std
        z = np.abs(x - mean) / np.maximum(std, self.min_std)
        z = np.where(ok, z, 0.0)
        level = np.where(z > self.crit, CRITICAL, np.where(z > self.warn, WARNING, 0)).astype(np.int8)
        names = (f"zscore>{self.warn:g}", f"zscore>{self.crit:g}")
        return Flags(level, z, (level == CRITICAL).astype(np.int8), names, (self.warn, self.crit))


class IQRDetector(Detector):
    """Tukey fences: outside [q1 - k·IQR, q3 + k·IQR] of the previous block of `block` samples.
    Quartiles per block (not per sample) keep this vectorised: one np.percentile over all blocks."""

    kind = DetectorKind.IQR

    def __init__(self, *, block=60, warn_k=4.0, crit_k=8.0, min_iqr=1e-9, **settings):
        super().__init__(**settings)
        self.block, self.warn_k, self.crit_k, self.min_iqr = max(8, int(block)), warn_k, crit_k, min_iqr
        self.history = 2 * self.block

    def evaluate(self, t, x, *, carry=None):
        n, b = len(x), self.block
        names = (f"iqr_fence>{self.warn_k:g}", f"iqr_fence>{self.crit_k:g}")
        full = n // b
        if full < 1:
            return _empty(n, names, (self.warn_k, self.crit_k))
        q1, q3 = np.percentile(x[: full * b].reshape(full, b), [25, 75], axis=1)
        # The fence width is the widest IQR of the last three blocks, so one degenerate block (a
        # stuck sensor) does not make every normal sample after it an outlier.
        spread = q3 - q1
        width = np.maximum(spread, np.maximum(np.r_[0.0, spread[:-1]], np.r_[0.0, 0.0, spread[:-2]][:full]))
        # Sample i is judged by the last complete block before its own; the first block by none.
        ref = np.arange(n) // b - 1
        ok = ref >= 0
        ref = np.clip(ref, 0, full - 1)
        lo, hi = q1[ref], q3[ref]
        ok &= width[ref] > self.min_iqr  # only degenerate blocks: no verdict
        iqr = np.maximum(width[ref], self.min_iqr)
        out = np.maximum(lo - x, x - hi) / iqr  # how many IQRs beyond the box
        out = np.where(ok, out, 0.0)
        level = np.where(out > self.crit_k, CRITICAL, np.where(out > self.warn_k, WARNING, 0)).astype(np.int8)
        return Flags(level, out, (level == CRITICAL).astype(np.int8), names, (self.warn_k, self.crit_k))


class EWMADetector(Detector):
    """EWMA control chart of the standardised residual against a lagged baseline: a slow drift moves
    the average out of its control band long before single samples stand out."""

    kind = DetectorKind.EWMA

    def __init__(self, *, lam=0.2, window=120, lag=30, warn_l=5.0, crit_l=9.0, min_std=1e-9, **settings):
        super().__init__(**settings)
        self.lam, self.window, self.lag = float(lam), max(5, int(window)), max(0, int(lag))
        self.warn_l, self.crit_l, self.min_std = float(warn_l), float(crit_l), float(min_std)
        self.sigma = np.sqrt(self.lam / (2 - self.lam))
        self.history = self.window + self.lag + int(5 / self.lam)

    def evaluate(self, t, x, *, carry=None):
        mean, std, ok = trailing_stats(x, self.window, self.lag)
        ok &= std > self.min_std
        r = np.where(ok, (x - mean) / np.maximum(std, self.min_std), 0.0)
        r = np.clip(r, -50, 50)  # one wild sample must not hold the average out for long
        s = np.abs(ewma(r, self.lam)) / self.sigma
        s = np.where(ok, s, 0.0)
        level = np.where(s > self.crit_l, CRITICAL, np.where(s > self.warn_l, WARNING, 0)).astype(np.int8)
        names = (f"ewma>{self.warn_l:g}σ", f"ewma>{self.crit_l:g}σ")
        return Flags(level, s, (level == CRITICAL).astype(np.int8), names, (self.warn_l, self.crit_l))


class StaleDetector(Detector):
    """No sample for longer than k × the expected interval, while the rest of the spacecraft keeps
    talking (a whole-spacecraft silence is loss of signal, shown on the telemetry page, not an
    anomaly of each parameter). Works on gaps, so `gaps` replaces `evaluate`."""

    kind = DetectorKind.STALE

    def __init__(self, *, k=3.0, crit_k=10.0, expected_interval_s=None, **settings):
        super().__init__(**settings)
        self.k, self.crit_k, self.expected_interval_s = float(k), float(crit_k), expected_interval_s

    MIN_SAMPLES = 10  # fewer seen: the interval is not known, so nothing is stale
    MAX_IRREGULARITY = 4.0  # 90th percentile / median of the intervals: above, sent on events

    def interval(self, t: np.ndarray) -> float | None:
        """The expected interval: configured, or learnt from the series (the median interval of a
        parameter sent periodically). None, and no verdict, for a parameter seen too few times or
        sent on events (a command counter, a boot count): its silence is not a fault."""
        if self.expected_interval_s:
            return float(self.expected_interval_s)
        if len(t) < self.MIN_SAMPLES:
            return None
        steps = np.diff(t)
        median = float(np.median(steps))
        if median <= 0 or float(np.percentile(steps, 90)) > self.MAX_IRREGULARITY * median:
            return None
        return median

    def gaps(self, t: np.ndarray, alive: np.ndarray, now: float) -> list[dict]:
        """Each gap in `t` (and the one from its last sample to `now`) longer than k intervals during
        which `alive` (the spacecraft's other sample times, sorted) shows the link was up."""
        interval = self.interval(t) if len(t) else None
        if interval is None:
            return []
        warn_s, crit_s = self.k * interval, self.crit_k * interval
        ends = np.r_[t[1:], now]
        starts = t
        length = ends - starts
        candidates = np.flatnonzero(length > warn_s)
        found = []
        for i in candidates.tolist():
            onset = starts[i] + warn_s
            # The spacecraft spoke after the parameter should have: the parameter alone went quiet.
            j = np.searchsorted(alive, onset, side="right")
            if j >= len(alive) or alive[j] >= ends[i]:
                continue
            ongoing = i == len(t) - 1
            found.append(
                {
                    "last_sample": float(starts[i]),
                    "started_at": float(onset),
                    "ended_at": None if ongoing else float(ends[i]),
                    "gap_s": float(length[i]),
                    "critical": bool(length[i] > crit_s),
                    "critical_since": float(starts[i] + crit_s) if length[i] > crit_s else None,
                    "threshold": f"stale>{self.k:g}x{interval:g}s",
                    "threshold_value": warn_s,
                }
            )
        return found


def theil_sen(t: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the robust (Theil-Sen) line: the median of pairwise slopes, so a few
    outliers or a spike inside the window do not tilt it."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    ok = dt > 0
    slope = float(np.median((x[j] - x[i])[ok] / dt[ok]))
    return slope, float(np.median(x - slope * t))


class ForecastDetector(Detector):
    """Time to limit: a robust line through the last `window_s` of a parameter averaged over
    `smooth_s`, drawn every `stride_s`; a warning when it is significant (its change over the
    window exceeds `min_trend_sigma` robust standard deviations of the samples around the average,
    and the recent half agrees) and meets a warning limit within `horizon_s`. Works on evaluation
    times, so `forecasts` replaces `evaluate`."""

    kind = DetectorKind.FORECAST
    MAX_POINTS = 120  # the fit's points: the window is thinned to at most this many

    def __init__(
        self,
        *,
        window_s=3600.0,
        smooth_s=5400.0,
        stride_s=300.0,
        horizon_s=21600.0,
        min_trend_sigma=1.5,
        min_points=20,
        warn_low=None,
        warn_high=None,
        **settings,
    ):
        super().__init__(**settings)
        self.window_s, self.stride_s, self.horizon_s = float(window_s), float(stride_s), float(horizon_s)
        self.smooth_s = float(smooth_s)
        self.min_trend_sigma, self.min_points = float(min_trend_sigma), max(5, int(min_points))
        self.warn_low, self.warn_high = warn_low, warn_high

    def fit(self, t: np.ndarray, x: np.ndarray, at: float) -> dict | None:
        """The line through the last `window_s` before `at` of the series averaged over `smooth_s`
        (one orbit: its swing averages out), and where it meets a limit (None: too few samples).
        `t` in seconds, sorted."""
        span = self.window_s + self.smooth_s
        lo, hi = np.searchsorted(t, at - span), np.searchsorted(t, at, side="right")
        if hi - lo < self.min_points or t[hi - 1] - t[lo] < 0.8 * span:
            return None  # too few samples, or they span too little of the window: no line
        tt, xx = t[lo:hi], x[lo:hi]
        sums = np.r_[0.0, np.cumsum(xx - xx[0])]
        first = np.searchsorted(tt, tt - self.smooth_s)
        index = np.arange(len(tt))
        smooth = (sums[index + 1] - sums[first]) / (index + 1 - first) + xx[0]
        inside = np.flatnonzero(tt >= at - self.window_s)
        step = max(1, len(inside) // self.MAX_POINTS)
        pick = inside[::step]
        tw, sw = tt[pick] - at, smooth[pick]
        slope, value = theil_sen(tw, sw)
        value += slope * self.smooth_s / 2  # the average lags half its span behind the samples
        residual = xx[inside] - smooth[inside]
        sigma = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
        significant = abs(slope) * self.window_s > self.min_trend_sigma * max(sigma, 1e-12)
        if significant:
            # A trend, not a step: the window's recent half must slope the same way, about as much
            # (a level that jumped and stayed tilts one line through both, not the recent half).
            half = tw >= -self.window_s / 2
            if half.sum() >= 5:
                recent, _ = theil_sen(tw[half], sw[half])
                significant = recent * slope > 0 and 0.5 <= recent / slope <= 2.0
        limit_name, limit, ttl = None, None, None
        if slope < 0 and self.warn_low is not None and value > self.warn_low:
            limit_name, limit = "warn_low", self.warn_low
        elif slope > 0 and self.warn_high is not None and value < self.warn_high:
            limit_name, limit = "warn_high", self.warn_high
        if limit is not None and slope != 0:
            ttl = (limit - value) / slope
        return {
            "at": at,
            "slope_per_s": slope,
            "value": value,
            "sigma": sigma,
            "significant": bool(significant),
            "limit_name": limit_name,
            "limit": limit,
            "time_to_limit_s": ttl,
            "warns": bool(significant and ttl is not None and 0 < ttl <= self.horizon_s),
        }

    def forecasts(self, t: np.ndarray, x: np.ndarray, after: float | None) -> tuple[np.ndarray, np.ndarray, Flags]:
        """Evaluation times (each multiple of stride_s after `after` up to the last sample), the
        time to limit at each, and their flags (warning where the line meets a limit in time)."""
        if not len(t):
            return np.empty(0), np.empty(0), _empty(0)
        first = t[0] + self.window_s + self.smooth_s if after is None else after
        k0 = int(np.floor(first / self.stride_s)) + 1
        k1 = int(np.floor(t[-1] / self.stride_s))
        times = np.arange(k0, k1 + 1) * self.stride_s
        ttl = np.full(len(times), np.inf)
        level = np.zeros(len(times), np.int8)
        code = np.zeros(len(times), np.int8)
        for i, at in enumerate(times.tolist()):
            found = self.fit(t, x, at)
            if found and found["warns"]:
                ttl[i], level[i] = found["time_to_limit_s"], WARNING
                code[i] = 0 if found["limit_name"] == "warn_low" else 1
        score = np.where(np.isfinite(ttl), self.horizon_s / np.maximum(ttl, 1.0), 0.0)
        names = ("forecast warn_low", "forecast warn_high")
        return (
            times,
            np.where(np.isfinite(ttl), ttl, 0.0),
            Flags(level, score, code, names, (self.warn_low, self.warn_high)),
        )


DETECTOR_CLASSES = {
    cls.kind: cls
    for cls in (
        LimitDetector,
        RateDetector,
        StaleDetector,
        FlatlineDetector,
        ZScoreDetector,
        IQRDetector,
        EWMADetector,
        ForecastDetector,
    )
}
