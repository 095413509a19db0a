"""The forecast detector: time to limit from a robust line through a parameter's recent window."""

import numpy as np

from .detector_base import WARNING, Detector, Flags, empty_flags
from .models import DetectorKind


def theil_sen(t: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the robust (Theil-Sen) line: the median of pairwise slopes, so a few
    outliers or a spike inside the window do not tilt it."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    ok = dt > 0
    slope = float(np.median((x[j] - x[i])[ok] / dt[ok]))
    return slope, float(np.median(x - slope * t))


JUMP_S = 300.0  # a step is judged on the means of this long before and after it: short against an
# orbit's swing (which moves them apart by at most a fifth of its amplitude), long against noise


def largest_jump(t: np.ndarray, x: np.ndarray, sign: float) -> float:
    """The largest move, in the direction of `sign`, between the means of the samples in the
    JUMP_S before and after any sample (0 when there are too few samples)."""
    n = len(t)
    if n < 6:
        return 0.0
    k = max(3, int(round(JUMP_S / max(float(np.median(np.diff(t))), 1e-9))))
    if n < 2 * k:
        return 0.0
    sums = np.r_[0.0, np.cumsum(x - x[0])]
    before = sums[k : n - k + 1] - sums[: n - 2 * k + 1]
    after = sums[2 * k :] - sums[k : n - k + 1]
    return float(np.max((after - before) * sign)) / k


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
        baseline_s=43200.0,
        min_points=20,
        warn_low=None,
        warn_high=None,
        **settings,
    ):
        super().__init__(**settings)
        self.window_s, self.stride_s, self.horizon_s = float(window_s), float(stride_s), float(horizon_s)
        self.smooth_s, self.baseline_s = float(smooth_s), float(baseline_s)
        self.min_trend_sigma, self.min_points = float(min_trend_sigma), max(5, int(min_points))
        self.warn_low, self.warn_high = warn_low, warn_high

    @property
    def span_s(self) -> float:
        """How far before a fit's time it reads: the baseline, the average's span and the window."""
        return self.baseline_s + self.smooth_s + self.window_s

    def fit(self, t: np.ndarray, x: np.ndarray, at: float) -> dict | None:
        """The line through the last `window_s` before `at` of the series averaged over `smooth_s`
        (one orbit: its swing averages out), and where it meets a limit (None: too few samples).
        `t` in seconds, sorted."""
        span = self.window_s + self.smooth_s
        lo, hi = np.searchsorted(t, at - span), np.searchsorted(t, at, side="right")
        if hi - lo < self.min_points or t[hi - 1] - t[lo] < 0.8 * span:
            return None  # too few samples, or they span too little of the window: no line
        baseline = None
        if self.baseline_s > 0:
            before = x[np.searchsorted(t, at - span - self.baseline_s) : lo]
            if len(before) >= self.min_points:
                baseline = float(np.median(before))
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
        # A level coming back from an excursion (a bias step or a drift that ended: the average
        # falls back for an orbit, and its line points at the other limit) is not heading for a
        # limit: the line must end further from the earlier level than it starts.
        recovering = baseline is not None and abs(value - baseline) < abs(value - slope * self.window_s - baseline)
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
        if significant and self.smooth_s > 0:
            # A step anywhere in the samples the average covers (a bias step, a drift's sudden
            # end) makes the average a ramp one smoothing span long, which the line takes for a
            # trend: a step of at least half that ramp's rise explains it.
            significant = largest_jump(tt, xx, np.sign(slope)) < 0.5 * abs(slope) * self.smooth_s
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
            "baseline": baseline,
            "recovering": bool(recovering),
            "limit_name": limit_name,
            "limit": limit,
            "time_to_limit_s": ttl,
            "warns": bool(significant and not recovering and ttl is not None and 0 < ttl <= self.horizon_s),
        }

    def forecasts(self, t: np.ndarray, x: np.ndarray, after: float | None) -> tuple[np.ndarray, np.ndarray, Flags]:
        """Evaluation times (each multiple of stride_s after `after` up to the last sample), the
        time to limit at each, and their flags (warning where the line meets a limit in time)."""
        if not len(t):
            return np.empty(0), np.empty(0), empty_flags(0)
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
