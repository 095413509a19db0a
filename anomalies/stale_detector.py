"""The stale detector: a parameter silent for longer than its usual interval (works on gaps)."""

import numpy as np

from .detector_base import Detector
from .models import DetectorKind


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
