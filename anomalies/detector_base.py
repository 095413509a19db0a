"""What every detector shares: the Detector base class, the Flags it returns, and numpy helpers.

Detectors: each a small class whose `evaluate(t, x)` flags every sample of a series at once (numpy).

`t` are sample times (float seconds, any epoch, increasing), `x` the values. A detector returns
Flags: per sample a level (0 good, 1 warning, 2 critical), a score (how far out: the episode's peak
is the sample with the highest score), and which named threshold applies with its value. Turning
flags into episodes (persistence, clearing, latching) is `episodes.track`, shared by all detectors.

Stateful checks carry their state between calls in `carry` (the limits' hysteresis, the previous
sample for rate and stuck value), so evaluating a series in pieces gives the same flags as at once.
"""

from dataclasses import dataclass, field

import numpy as np

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


def empty_flags(n: int, names=("-",), limits=(None,)) -> Flags:
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


def mean_before(x: np.ndarray, end: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of x[end_i - window : end_i] for each i, and whether that much history exists."""
    n = len(x)
    centre = float(x[0]) if n else 0.0
    sums = np.concatenate(([0.0], np.cumsum(x - centre)))
    start = end - window
    ok = (start >= 0) & (end <= n)
    a, b = np.clip(start, 0, n), np.clip(end, 0, n)
    return (sums[b] - sums[a]) / max(window, 1) + centre, ok


def mean_ending(x: np.ndarray, span: int) -> np.ndarray:
    """Mean of x[i-span+1 : i+1] for each i (NaN where fewer than `span` samples end at i)."""
    n = len(x)
    out = np.full(n, np.nan)
    if n >= span:
        centre = float(x[0])
        sums = np.concatenate(([0.0], np.cumsum(x - centre)))
        out[span - 1 :] = (sums[span:] - sums[: n - span + 1]) / span + centre
    return out


def trailing_min(x: np.ndarray, window: int) -> np.ndarray:
    """Minimum of x[i-window+1 : i+1] for each i (of what there is at the start)."""
    n = len(x)
    if n == 0:
        return x.astype(float)
    padded = np.r_[np.full(window - 1, np.inf), x]
    return np.lib.stride_tricks.sliding_window_view(padded, window).min(axis=1)


def returning(x: np.ndarray, recent: np.ndarray, spread, end: np.ndarray, window: int) -> np.ndarray:
    """Per sample: a move back towards the parameter's earlier level (the mean of the `window`
    samples before index `end`, where its recent baseline begins) from a recent baseline at least
    RETURN_SPREADS `spread`s away from it: a level coming back from an excursion (a bias or a drift
    that ended), not a change of its own. A detector whose baseline has followed the excursion would
    see its end as one more. Off with a window of 0."""
    if window <= 0 or not len(x):
        return np.zeros(len(x), bool)
    earlier, ok = mean_before(x, end, window)
    away = recent - earlier
    return ok & ((x - recent) * away < 0) & (np.abs(away) > RETURN_SPREADS * spread)


RETURN_SPREADS = 2.0  # the orbit's swing moves a 10-20 minute baseline about one spread from a 2-hour mean


STUCK_RUN = 8  # equal samples in a row that make a stuck stretch (the flatline detector's default)


def stuck_marks(x: np.ndarray) -> np.ndarray:
    """Per sample: it is at least the STUCK_RUN-th of a run of equal values (a stuck sensor)."""
    n = len(x)
    if n == 0:
        return np.zeros(0, bool)
    index = np.arange(n)
    same = np.r_[False, x[1:] == x[:-1]]
    last_break = np.maximum.accumulate(np.where(same, -1, index))
    return index - last_break + 1 >= STUCK_RUN


def holds_stuck(marks: np.ndarray, window: int, lag: int = 0) -> np.ndarray:
    """Whether x[i-lag-window : i-lag] holds a stuck stretch, for each i: such a window is no
    baseline (its spread is nearly nothing, so every normal sample after it looks wild)."""
    n = len(marks)
    counts = np.r_[0, np.cumsum(marks, dtype=np.int64)]
    end = np.clip(np.arange(n) - lag, 0, n)
    start = np.clip(end - window, 0, n)
    return counts[end] - counts[start] > 0


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
