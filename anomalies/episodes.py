"""From flags to episodes: persistence to open, N good samples to clear, carried across calls.

`track` walks the runs of violating / good samples (a Python step per run, numpy within a run), so
its cost follows the number of state changes, not the number of samples. Its `state` is what a
DetectorCursor stores between sweeps: a violation that began in one batch and persists into the
next opens exactly once, at the sample where it had persisted long enough.
"""

from dataclasses import dataclass, field

import numpy as np

from .detector_base import CRITICAL, Flags


@dataclass
class Episode:
    started_at: float
    detected_at: float
    last_seen: float
    count: int = 0
    level: int = 0
    critical_since: float | None = None
    peak_value: float | None = None
    peak_at: float | None = None
    peak_score: float = -np.inf
    threshold: str = ""
    threshold_value: float | None = None
    cleared_at: float | None = None
    first_seen: float | None = None  # first violating sample among these samples
    continues: bool = False  # it was already open before these samples

    def add(self, t, x, flags: Flags, s: int, e: int) -> None:
        if self.first_seen is None:
            self.first_seen = float(t[s])
        self.count += e - s
        self.last_seen = float(t[e - 1])
        levels = flags.level[s:e]
        top = int(levels.max())
        if top == CRITICAL and self.critical_since is None:
            self.critical_since = float(t[s + int(np.argmax(levels == CRITICAL))])
        self.level = max(self.level, top)
        j = s + int(np.argmax(flags.score[s:e]))
        if flags.score[j] > self.peak_score:
            self.peak_score = float(flags.score[j])
            self.peak_value, self.peak_at = float(x[j]), float(t[j])
            self.threshold, self.threshold_value = flags.threshold(j)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "peak_score"}


@dataclass
class TrackerState:
    run: int = 0  # violating samples in a row, not yet enough to open
    run_start: float | None = None
    good: int = 0  # good samples in a row since the open episode's last violation
    open: bool = False
    carry: dict = field(default_factory=dict)  # the detector's own carried state

    @classmethod
    def load(cls, data: dict | None) -> "TrackerState":
        data = data or {}
        return cls(
            run=int(data.get("run", 0)),
            run_start=data.get("run_start"),
            good=int(data.get("good", 0)),
            open=bool(data.get("open", False)),
            carry=data.get("carry") or {},
        )

    def dump(self) -> dict:
        carry = {k: (float(v) if isinstance(v, np.floating | np.integer) else v) for k, v in self.carry.items()}
        return {"run": self.run, "run_start": self.run_start, "good": self.good, "open": self.open, "carry": carry}


def sliced(flags: Flags, start: int) -> Flags:
    """The flags of samples[start:], e.g. the part of a window a sweep has not evaluated yet."""
    return Flags(flags.level[start:], flags.score[start:], flags.code[start:], flags.names, flags.limits, flags.carry)


def track(
    t: np.ndarray, x: np.ndarray, flags: Flags, *, persistence: int, clear_after: int, state: TrackerState | None = None
) -> tuple[list[Episode], TrackerState]:
    """Episodes these samples open, extend or clear, and the state to carry on with. An episode that
    was open before (state.open) comes back with `continues=True` and only these samples' share."""
    state = state or TrackerState()
    n = len(t)
    episodes: list[Episode] = []
    current = None
    if state.open:
        current = Episode(started_at=np.nan, detected_at=np.nan, last_seen=np.nan, continues=True)
    if n == 0:
        return ([current] if current and current.count else []), state
    active = flags.level > 0
    change = np.flatnonzero(active[1:] != active[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, n]
    run, run_start, good = state.run, state.run_start, state.good
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if active[s]:
            good = 0
            if current is not None:
                current.add(t, x, flags, s, e)
                continue
            if run + (e - s) >= persistence:
                opened = s + max(0, persistence - run - 1)
                current = Episode(
                    started_at=run_start if run else float(t[s]),
                    detected_at=float(t[opened]),
                    last_seen=float(t[s]),
                )
                current.count = run
                current.add(t, x, flags, s, e)
                run, run_start = 0, None
            else:
                if run == 0:
                    run_start = float(t[s])
                run += e - s
        else:
            run, run_start = 0, None
            if current is None:
                continue
            if good + (e - s) >= clear_after:
                current.cleared_at = float(t[s + clear_after - good - 1])
                episodes.append(current)
                current, good = None, 0
            else:
                good += e - s
    if current is not None and current.count:
        episodes.append(current)
    new_state = TrackerState(run=run, run_start=run_start, good=good, open=current is not None, carry=flags.carry)
    return episodes, new_state
