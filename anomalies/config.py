"""Detector settings: defaults, per-profile defaults, then the parameter's own `detectors` config.

A parameter's configuration (ConfigVersion.parameters[name]) may carry
`"detectors": {"zscore": {"warn": 7}, "rate": {"max_per_s": 2.5}, "iqr": {"enabled": false}}`;
whatever it leaves out comes from its mission profile's defaults, then from DEFAULTS.
Service-level knobs (late age, sweep windows) come from Django settings with the defaults below.
"""

import logging
import math
from dataclasses import dataclass

from django.conf import settings

from spacecraft.config import LIMIT_KEYS
from spacecraft.models import ParameterType

from .detector_base import Detector
from .forecast_detector import ForecastDetector
from .models import DetectorKind
from .sample_detectors import EWMADetector, FlatlineDetector, IQRDetector, LimitDetector, RateDetector, ZScoreDetector
from .stale_detector import StaleDetector

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

logger = logging.getLogger(__name__)

INLINE = (DetectorKind.LIMIT,)
SWEPT = (
    DetectorKind.RATE,
    DetectorKind.FLATLINE,
    DetectorKind.ZSCORE,
    DetectorKind.IQR,
    DetectorKind.EWMA,
    DetectorKind.FORECAST,
)
STATISTICAL = (DetectorKind.ZSCORE, DetectorKind.IQR, DetectorKind.EWMA)

DEFAULTS = {
    # deadband_pct: of the warning band's width; persistence: violating samples in a row to open;
    # clear_after: good samples in a row to clear.
    "limit": {"enabled": True, "deadband_pct": 2.0, "persistence": 2, "clear_after": 3},
    # band_fraction_per_step: the largest change between two samples, as a fraction of the warning
    # band (the slope follows from the parameter's median interval); band_fraction_per_s, if set,
    # gives the slope directly instead. earlier_window (rate, z-score, IQR, EWMA): the samples
    # before a detector's recent baseline whose mean is the earlier level; a move back towards it
    # from a baseline displaced by an excursion is the excursion's end, not a change (0: off).
    "rate": {
        "enabled": True,
        "band_fraction_per_step": 0.5,
        "crit_factor": 2.0,
        "earlier_window": 720,
        "persistence": 1,
        "clear_after": 3,
    },
    "stale": {"enabled": True, "k": 3.0, "crit_k": 10.0},
    "flatline": {"enabled": True, "min_samples": 8, "persistence": 1, "clear_after": 1},
    # span: the mean of the last `span` samples is also scored against the window before them (in
    # standard errors), so a sustained shift too small for one noisy sample (a bias step) stands out.
    "zscore": {
        "enabled": True,
        "window": 60,
        "lag": 0,
        "warn": 7.0,
        "crit": 12.0,
        "span": 6,
        "earlier_window": 720,
        "persistence": 1,
        "clear_after": 5,
    },
    # persistence 2 (an on-delay, ISA-18.2): single noise samples beyond the fence were the IQR's only
    # false alarms on seeds 1-3; its fence stays put for a block, so a real excursion stays beyond
    # it. The z-score keeps 1: its window takes in the first wild sample, so it flags only that one.
    "iqr": {
        "enabled": True,
        "block": 60,
        "warn_k": 4.0,
        "crit_k": 10.0,
        "earlier_window": 720,
        "persistence": 2,
        "clear_after": 5,
    },
    # lag 0 and a tight band: the residual against a lagged mean carries the orbit's swing, which
    # the average piles up into false alarms on 10 s telemetry (28 episodes per spacecraft-day).
    "ewma": {
        "enabled": True,
        "lam": 0.2,
        "window": 120,
        "lag": 0,
        "warn_l": 9.0,
        "crit_l": 18.0,
        "earlier_window": 720,
        "persistence": 3,
        "clear_after": 10,
    },
    # window_s: the robust line's span, through the series averaged over smooth_s (one 90-minute
    # orbit, so the orbit's swing averages out); stride_s: how often it is drawn; horizon_s: how
    # far ahead a crossing warns; min_trend_sigma: the change over the window, in robust standard
    # deviations of the samples around the average, that makes a trend; baseline_s: the span
    # before the window whose median is the earlier level (a line ending nearer it than it starts
    # is a recovery; long, so that a drift of a few hours does not make itself the earlier level).
    "forecast": {
        "enabled": True,
        "window_s": 3600.0,
        "smooth_s": 5400.0,
        "stride_s": 300.0,
        "horizon_s": 21600.0,
        "min_trend_sigma": 1.5,
        "baseline_s": 43200.0,
        "persistence": 2,
        "clear_after": 2,
    },
}

# Suppressed by design: alarms of these subsystems in these modes are recorded, never paged
# (a payload switched off in safe mode is expected to read out of its limits). A parameter's own
# `suppress_in_modes` (a list of modes, [] for never) overrides its subsystem's.
SUPPRESS_BY_SUBSYSTEM = {"payload": ("safe", "survival")}

# Per mission profile: what differs from DEFAULTS (slower, quieter GEO buses; noisy CubeSats).
PROFILE_DEFAULTS = {
    "LEO_IMAGING": {},
    "GNSS": {"ewma": {"window": 180}},
    "GEO_COMMS": {"zscore": {"window": 120}, "ewma": {"window": 240}},
    "CUBESAT": {"zscore": {"warn": 7.0}, "iqr": {"warn_k": 5.0}, "rate": {"band_fraction_per_step": 0.6}},
}

KNOWN = {kind: set(values) for kind, values in DEFAULTS.items()}
KNOWN["rate"] |= {"max_per_s", "crit_per_s", "band_fraction_per_s"}
KNOWN["stale"] |= {"persistence", "clear_after"}
KNOWN["limit"] |= {"deadband"}
KNOWN["forecast"] |= {"min_points"}


def late_after_s() -> float:
    """Telemetry older than this when it arrives is backfill: evaluated and recorded, never paged."""
    return float(settings.ANOMALY_LATE_AFTER_S)


def sweep_history_s() -> float:
    return float(settings.ANOMALY_SWEEP_HISTORY_S)


def sweep_lookback_s() -> float:
    """How far back a parameter's first sweep starts (later sweeps continue from their cursor)."""
    return float(settings.ANOMALY_SWEEP_LOOKBACK_S)


def sweep_settle_s() -> float:
    """Samples this recent are left to the next sweep, so in-flight ingests have committed."""
    return float(settings.ANOMALY_SWEEP_SETTLE_S)


def off_delay_s() -> float:
    """A condition back within this long after its alarm cleared continues the same activation
    (ISA-18.2 off-delay): one fault whose detectors flicker is one alarm, not a dozen returns."""
    return float(settings.ANOMALY_OFF_DELAY_S)


def chatter_count() -> int:
    """An alarm that returns more than this many times within chatter_window_s is chattering."""
    return int(settings.ANOMALY_CHATTER_COUNT)


def chatter_window_s() -> float:
    return float(settings.ANOMALY_CHATTER_WINDOW_S)


def flood_threshold() -> int:
    """More new alarms than this in flood_window_s is a flood (ISA-18.2: 10 in 10 minutes)."""
    return int(settings.ANOMALY_FLOOD_ALARMS)


def flood_window_s() -> float:
    return float(settings.ANOMALY_FLOOD_WINDOW_S)


def suppression(spec: dict, mode: str) -> str:
    """Why a parameter's alarms are suppressed by design in `mode` ('' when they are not)."""
    modes = spec.get("suppress_in_modes")
    if modes is None:
        modes = SUPPRESS_BY_SUBSYSTEM.get(spec.get("subsystem", ""), ())
    return f"mode {mode}" if mode and mode in modes else ""


def escalate_after_s() -> int:
    return int(settings.ANOMALY_ESCALATE_AFTER_S)


def detector_settings(spec: dict, mission_type: str = "", kinds=None) -> dict:
    """{detector kind: settings} for one parameter, defaults filled in (only `kinds`, if given)."""
    profile = PROFILE_DEFAULTS.get(mission_type, {})
    own = spec.get("detectors") or {}
    return {
        kind: {**DEFAULTS[kind], **profile.get(kind, {}), **(own.get(kind) or {})}
        for kind in (kinds or DEFAULTS)
        if kind in DEFAULTS
    }


def limits_for(spec: dict, mode: str = "") -> dict:
    """The limits in force in `mode`: the parameter's, with that mode's limit set laid over them."""
    limits = {key: spec.get(key) for key in LIMIT_KEYS}
    if mode and mode in (spec.get("limits_by_mode") or {}):
        limits.update(spec["limits_by_mode"][mode])
    return limits


def build_detectors(spec: dict, *, mission_type: str = "", mode: str = "", kinds=None) -> dict[str, Detector]:
    """The enabled detectors for one parameter (numeric types only; stale applies to every type)."""
    ptype = spec.get("type", ParameterType.FLOAT)
    numeric = ptype in (ParameterType.FLOAT, ParameterType.INT)
    conf = detector_settings(spec, mission_type, kinds)
    limits = limits_for(spec, mode)
    wl, wh, cl, ch = (limits[k] for k in LIMIT_KEYS)
    band = None
    if wl is not None and wh is not None and wh > wl:
        band = wh - wl
    elif cl is not None and ch is not None and ch > cl:
        band = ch - cl
    wanted = kinds or DETECTOR_CLASSES
    refused = _refused_kinds(spec.get("detectors"), wanted)
    built: dict[str, Detector] = {}
    for kind in wanted:
        options = dict(conf.get(kind, {}))
        if not options.pop("enabled", True):
            continue
        if kind in refused:
            continue
        if kind == DetectorKind.STALE:
            built[kind] = StaleDetector(expected_interval_s=spec.get("expected_interval_s"), **options)
            continue
        if not numeric:
            continue
        if kind == DetectorKind.LIMIT:
            if all(v is None for v in limits.values()):
                continue
            deadband = options.pop("deadband", None)
            pct = options.pop("deadband_pct", 0.0)
            if deadband is None:
                deadband = band * pct / 100 if band else 0.0
            built[kind] = DETECTOR_CLASSES[kind](deadband=deadband, **limits, **options)
        elif kind == DetectorKind.RATE:
            per_s = options.pop("band_fraction_per_s", None)
            per_step = options.pop("band_fraction_per_step", None)
            factor = options.pop("crit_factor", 2.0)
            if options.get("max_per_s") is None:
                if not band or not (per_s or per_step):
                    continue
                if per_s:
                    options["max_per_s"] = band * per_s
                else:
                    options["max_step"], options["crit_factor"] = band * per_step, factor
            if options.get("max_per_s") is not None:
                options.setdefault("crit_per_s", options["max_per_s"] * factor)
            built[kind] = DETECTOR_CLASSES[kind](**options)
        elif kind == DetectorKind.FORECAST:
            if ptype == ParameterType.FLOAT and (limits["warn_low"] is not None or limits["warn_high"] is not None):
                built[kind] = DETECTOR_CLASSES[kind](
                    warn_low=limits["warn_low"], warn_high=limits["warn_high"], **options
                )
        elif ptype == ParameterType.FLOAT:  # counters step and stay: statistics and stuck checks need floats
            built[kind] = DETECTOR_CLASSES[kind](**options)
    return built


@dataclass(frozen=True)
class Bounds:
    """The values one detector setting accepts: a finite number in [low, high] (or (low, high]),
    a whole one for counts of samples; null only where it means "derive it"."""

    low: float
    high: float
    whole: bool = False
    above_low: bool = False
    nullable: bool = False

    def problem(self, value) -> str | None:
        if value is None:
            return None if self.nullable else "must be a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if self.whole and value != int(value):
            return "must be a whole number"
        low_ok = value > self.low if self.above_low else value >= self.low
        if not low_ok or value > self.high:
            kind = "a whole number" if self.whole else "a number"
            low = f"above {self.low:g}" if self.above_low else f"at least {self.low:g}"
            return f"must be {kind} {low} and at most {self.high:g}"
        return None


MAX_SAMPLES = 100_000  # windows, persistence, clearing: as many samples as analyze reads at most
MAX_FACTOR = 1e6  # thresholds in the detector's own measure (σ, IQRs, expected intervals)
MAX_VALUE = 1e15  # in the parameter's units (per second for rates)
THRESHOLD = Bounds(0, MAX_FACTOR, above_low=True)
SETTING_BOUNDS = {
    "persistence": Bounds(1, MAX_SAMPLES, whole=True),
    "clear_after": Bounds(1, MAX_SAMPLES, whole=True),
    "min_samples": Bounds(2, MAX_SAMPLES, whole=True),
    "window": Bounds(5, MAX_SAMPLES, whole=True),
    "block": Bounds(8, MAX_SAMPLES, whole=True),
    "lag": Bounds(0, MAX_SAMPLES, whole=True),
    "span": Bounds(1, MAX_SAMPLES, whole=True),
    "earlier_window": Bounds(0, MAX_SAMPLES, whole=True),
    # The EWMA's weight: at 1 its closed form divides by zero, and near 0 its control band is 0 wide.
    "lam": Bounds(0.001, 0.99),
    "deadband_pct": Bounds(0, 100),
    "deadband": Bounds(0, MAX_VALUE, nullable=True),
    "band_fraction_per_s": Bounds(0, MAX_FACTOR),
    "band_fraction_per_step": Bounds(0, MAX_FACTOR),
    "crit_factor": Bounds(1, MAX_FACTOR),
    "max_per_s": Bounds(0, MAX_VALUE, nullable=True),
    "crit_per_s": Bounds(0, MAX_VALUE, nullable=True),
    "warn": THRESHOLD,
    "crit": THRESHOLD,
    "warn_k": THRESHOLD,
    "crit_k": THRESHOLD,
    "warn_l": THRESHOLD,
    "crit_l": THRESHOLD,
    "k": THRESHOLD,
    "window_s": Bounds(60, 30 * 86400),
    "stride_s": Bounds(1, 86400),
    "smooth_s": Bounds(0, 30 * 86400),
    "baseline_s": Bounds(0, 30 * 86400),
    "horizon_s": Bounds(60, 30 * 86400),
    "min_trend_sigma": THRESHOLD,
    "min_points": Bounds(5, MAX_SAMPLES, whole=True),
}


def setting_problem(key: str, value) -> str | None:
    """What is wrong with one detector setting's value (None: nothing)."""
    if key == "enabled":
        return None if isinstance(value, bool) else "enabled must be true or false"
    return SETTING_BOUNDS[key].problem(value)


def _refused_kinds(own, wanted) -> set[str]:
    """Those of the `wanted` detectors whose own settings are out of range: stored before values
    were checked. They stay off (and say so in the log) rather than fail the ingest, sweep or
    analysis they are part of. Only the wanted ones are checked: ingest builds limits alone."""
    refused = set()
    if not isinstance(own, dict):
        return refused
    for kind, options in own.items():
        if kind not in wanted or not isinstance(options, dict):
            continue
        for key, value in options.items():
            if (key == "enabled" or key in SETTING_BOUNDS) and setting_problem(key, value):
                logger.warning("detector %s is off: its setting %s=%r is out of range", kind, key, value)
                refused.add(kind)
    return refused


def validate_detectors(value, where: str) -> dict:
    """The check spacecraft/config.py runs on a parameter's `detectors` (raises DomainError naming
    the setting): every value one the detectors can compute with."""
    from missionops.exceptions import DomainError

    if not isinstance(value, dict):
        raise DomainError("detectors must be an object of detector -> settings", field=where)
    for kind, options in value.items():
        if kind not in DEFAULTS:
            raise DomainError(f"unknown detector {kind!r}; one of {', '.join(DEFAULTS)}", field=f"{where}.{kind}")
        if not isinstance(options, dict):
            raise DomainError("detector settings must be an object", field=f"{where}.{kind}")
        for key, option in options.items():
            if key not in KNOWN[kind]:
                raise DomainError(
                    f"unknown setting {key!r}; one of {', '.join(sorted(KNOWN[kind]))}", field=f"{where}.{kind}.{key}"
                )
            problem = setting_problem(key, option)
            if problem:
                raise DomainError(problem, field=f"{where}.{kind}.{key}")
    return value
