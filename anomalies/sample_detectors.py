"""The detectors that flag every sample of a series: limits, rate of change, stuck value,
z-score, IQR and EWMA (`evaluate(t, x)`; see detector_base)."""

import numpy as np

from .detector_base import (
    CRITICAL,
    STUCK_RUN,
    WARNING,
    Detector,
    Flags,
    empty_flags,
    ewma,
    holds_stuck,
    hysteresis,
    mean_ending,
    returning,
    stuck_marks,
    trailing_min,
    trailing_stats,
)
from .models import DetectorKind


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

    def __init__(
        self, *, max_per_s=None, crit_per_s=None, max_step=None, crit_factor=2.0, earlier_window=0, **settings
    ):
        super().__init__(**settings)
        self.max_per_s, self.crit_per_s = max_per_s, crit_per_s
        self.max_step, self.crit_factor = max_step, float(crit_factor)
        self.earlier_window = max(0, int(earlier_window))
        self.history = 1 + self.earlier_window

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
            return empty_flags(n, names, (warn, crit_per_s))
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
        # A step back towards the earlier level ends an excursion (or a spike): not a change.
        back = returning(x, prev_x, (self.max_step or 0.0) / 4, np.arange(n) - 1, self.earlier_window)
        over_warn &= ~back
        over_crit &= ~back
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
            return empty_flags(0, names)
        carry = carry or {}
        same = np.r_[x[0] == carry.get("x", np.nan), x[1:] == x[:-1]]
        index = np.arange(n)
        last_break = np.maximum.accumulate(np.where(same, -1, index))
        run = np.where(last_break >= 0, index - last_break + 1, index + 1 + int(carry.get("run", 0)))
        level = (run >= self.min_samples).astype(np.int8)
        return Flags(level, run.astype(float), np.zeros(n, np.int8), names, (None,), {"x": x[-1], "run": int(run[-1])})


class ZScoreDetector(Detector):
    """|x - mean| / std against the trailing `window` samples (optionally `lag` samples back); and,
    with `span` > 1, the mean of the last `span` samples against the window before them (their
    difference's standard error: std·√(1/span + 1/window)): a sustained shift too small for one
    noisy sample to stand out (a bias step) stands out in an average. A sample scores the higher."""

    kind = DetectorKind.ZSCORE

    def __init__(self, *, window=60, lag=0, warn=6.0, crit=10.0, min_std=1e-9, earlier_window=0, span=1, **settings):
        super().__init__(**settings)
        self.window, self.lag = max(5, int(window)), max(0, int(lag))
        self.warn, self.crit, self.min_std = float(warn), float(crit), float(min_std)
        self.earlier_window = max(0, int(earlier_window))
        self.span = max(1, int(span))
        self.history = self.window + self.lag + self.span - 1 + max(STUCK_RUN, self.earlier_window)

    def evaluate(self, t, x, *, carry=None):
        marks = stuck_marks(x)
        z = self._scores(x, x, marks, 1)
        if self.span > 1:
            z = np.maximum(z, self._scores(x, mean_ending(x, self.span), marks, self.span))
        level = np.where(z > self.crit, CRITICAL, np.where(z > self.warn, WARNING, 0)).astype(np.int8)
        names = (f"zscore>{self.warn:g}", f"zscore>{self.crit:g}")
        return Flags(level, z, (level == CRITICAL).astype(np.int8), names, (self.warn, self.crit))

    def _scores(self, x, value, marks, span):
        """Per sample: how many standard errors `value` (the sample, or the mean of the `span`
        samples ending at it) lies from the mean of the `window` samples before those."""
        lag = self.lag + span - 1
        mean, std, ok = trailing_stats(x, self.window, lag)
        # A flat baseline (a stuck sensor, a constant) gives no verdict rather than infinite scores;
        # nor does one holding a stuck stretch (the flatline detector's), until it has left it.
        ok &= (std > self.min_std) & ~holds_stuck(marks, self.window, lag) & ~np.isnan(value)
        error = np.maximum(std, self.min_std)
        if span > 1:
            # A mean's standard error, from the widest spread of the last `window` baselines: one
            # spread of 60 samples is itself noisy, and a chance calm stretch made an ordinary
            # mean of a few samples look like a shift.
            error = -trailing_min(-error, self.window) * np.sqrt(1 / span + 1 / self.window)
        z = np.where(ok, np.abs(np.nan_to_num(value) - mean) / error, 0.0)
        # The baseline's spread before the samples of a return entered it: they inflate it within a
        # few samples, and a mean of `span` samples would then stand out from it as a new change.
        calm = trailing_min(std, self.window)
        z[returning(np.nan_to_num(value), mean, calm, np.arange(len(x)) - lag - self.window, self.earlier_window)] = 0.0
        return z


class IQRDetector(Detector):
    """Tukey fences: outside [q1 - k·IQR, q3 + k·IQR] of the previous block of `block` samples.
    Quartiles per block (not per sample) keep this vectorised: one np.percentile over all blocks."""

    kind = DetectorKind.IQR

    def __init__(self, *, block=60, warn_k=4.0, crit_k=8.0, min_iqr=1e-9, earlier_window=0, **settings):
        super().__init__(**settings)
        self.block, self.warn_k, self.crit_k, self.min_iqr = max(8, int(block)), warn_k, crit_k, min_iqr
        self.earlier_window = max(0, int(earlier_window))
        self.history = 2 * self.block + self.earlier_window

    def evaluate(self, t, x, *, carry=None):
        n, b = len(x), self.block
        names = (f"iqr_fence>{self.warn_k:g}", f"iqr_fence>{self.crit_k:g}")
        full = n // b
        if full < 1:
            return empty_flags(n, names, (self.warn_k, self.crit_k))
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
        stuck = stuck_marks(x)[: full * b].reshape(full, b).any(axis=1)
        ok &= ~stuck[ref]  # a block holding a stuck stretch is no reference either
        iqr = np.maximum(width[ref], self.min_iqr)
        out = np.maximum(lo - x, x - hi) / iqr  # how many IQRs beyond the box
        out = np.where(ok, out, 0.0)
        back = returning(x, (lo + hi) / 2, (hi - lo) / 1.349, (np.arange(n) // b - 1) * b, self.earlier_window)
        out[back] = 0.0
        level = np.where(out > self.crit_k, CRITICAL, np.where(out > self.warn_k, WARNING, 0)).astype(np.int8)
        return Flags(level, out, (level == CRITICAL).astype(np.int8), names, (self.warn_k, self.crit_k))


class EWMADetector(Detector):
    """EWMA control chart of the standardised residual against a lagged baseline: a slow drift moves
    the average out of its control band long before single samples stand out."""

    kind = DetectorKind.EWMA

    def __init__(
        self, *, lam=0.2, window=120, lag=30, warn_l=5.0, crit_l=9.0, min_std=1e-9, earlier_window=0, **settings
    ):
        super().__init__(**settings)
        self.lam, self.window, self.lag = float(lam), max(5, int(window)), max(0, int(lag))
        self.warn_l, self.crit_l, self.min_std = float(warn_l), float(crit_l), float(min_std)
        self.sigma = np.sqrt(self.lam / (2 - self.lam))
        self.earlier_window = max(0, int(earlier_window))
        self.history = self.window + self.lag + int(5 / self.lam) + max(STUCK_RUN, self.earlier_window)

    def evaluate(self, t, x, *, carry=None):
        mean, std, ok = trailing_stats(x, self.window, self.lag)
        ok &= (std > self.min_std) & ~holds_stuck(stuck_marks(x), self.window, self.lag)
        r = np.where(ok, (x - mean) / np.maximum(std, self.min_std), 0.0)
        r[returning(x, mean, std, np.arange(len(x)) - self.lag - self.window, self.earlier_window)] = 0.0
        r = np.clip(r, -50, 50)  # one wild sample must not hold the average out for long
        s = np.abs(ewma(r, self.lam)) / self.sigma
        s = np.where(ok, s, 0.0)
        level = np.where(s > self.crit_l, CRITICAL, np.where(s > self.warn_l, WARNING, 0)).astype(np.int8)
        names = (f"ewma>{self.warn_l:g}σ", f"ewma>{self.crit_l:g}σ")
        return Flags(level, s, (level == CRITICAL).astype(np.int8), names, (self.warn_l, self.crit_l))
