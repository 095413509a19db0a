"""Read-only analysis: what the detectors say about recent data now (the analyze API and
command) and one parameter's forecast line (the telemetry chart). Writes nothing."""

import datetime as dt

import numpy as np
from django.utils import timezone

from spacecraft.models import Spacecraft
from telemetry.models import ParameterDefinition

from . import reading
from .detector_base import CRITICAL
from .episodes import Episode
from .models import DetectorKind, Severity
from .services.detector_runs import US, current_specs, find_episodes, spec_of
from .services.recording import Target


def analyze(*, spacecraft: Spacecraft, limit: int = 1000, now: dt.datetime | None = None) -> dict:
    """Every detector over the newest `limit` samples of each parameter, from a fresh state.
    Writes nothing: what the detectors would say about recent data right now."""
    now = now or timezone.now()
    specs = current_specs([spacecraft.pk]).get(spacecraft.pk, {})
    definitions = {d.pk: d for d in ParameterDefinition.objects.filter(spacecraft=spacecraft)}
    pids, times, values = reading.read_recent(sorted(definitions), limit)
    by_pid = reading.split(pids)
    alive = np.unique(times)
    findings = []
    for pid, part in sorted(by_pid.items()):
        definition = definitions[pid]
        target = Target(definition=definition, spacecraft=spacecraft, spec=spec_of(definition=definition, specs=specs))
        detectors = target.detectors(None)
        t_us, x = times[part], values[part]
        base = int(t_us[0])
        t = (t_us - base) / US
        now_s = (reading.to_us(now) - base) / US
        for kind, episode in find_episodes(detectors=detectors, t=t, x=x, alive=(alive - base) / US, now=now_s):
            findings.append(finding(definition, kind, episode, base))
    findings.sort(key=lambda f: (f["severity"] != Severity.CRITICAL, f["started_at"]))
    return {
        "spacecraft": str(spacecraft.pk),
        "designation": spacecraft.designation,
        "mode": spacecraft.mode,
        "samples": int(len(pids)),
        "parameters": len(by_pid),
        "findings": findings,
    }


def finding(definition: ParameterDefinition, kind: str, episode: Episode, base_us: int) -> dict:
    def at(seconds):
        if seconds is None or seconds != seconds:
            return None
        return reading.to_datetime(base_us + seconds * US)

    return {
        "parameter": definition.name,
        "subsystem": definition.subsystem,
        "detector": kind,
        "severity": Severity.CRITICAL if episode.level >= CRITICAL else Severity.WARNING,
        "threshold": episode.threshold,
        "threshold_value": episode.threshold_value,
        "started_at": at(episode.started_at),
        "detected_at": at(episode.detected_at),
        "last_seen_at": at(episode.last_seen),
        "cleared_at": at(episode.cleared_at),
        "peak_value": episode.peak_value,
        "peak_at": at(episode.peak_at),
        "sample_count": episode.count,
    }


def forecast_now(*, target: Target, now: dt.datetime | None = None) -> dict | None:
    """The forecast line of one parameter at `now` (for the telemetry chart's dashed projection);
    None when the parameter has no warning limit or too few recent samples."""
    now = now or timezone.now()
    detector = target.detectors([DetectorKind.FORECAST]).get(DetectorKind.FORECAST)
    if detector is None:
        return None
    since = now - dt.timedelta(seconds=detector.span_s)
    _, t_us, x = reading.read_window([target.definition.pk], since, now)
    if not len(t_us):
        return None
    base = int(t_us[-1])
    found = detector.fit((t_us - base) / US, x, 0.0)
    if found is None:
        return None
    at = reading.to_datetime(base)
    ttl = found["time_to_limit_s"]
    reach = ttl if ttl is not None and 0 < ttl <= detector.horizon_s else detector.horizon_s
    end = at + dt.timedelta(seconds=reach)
    return {
        "parameter": target.definition.name,
        "units": target.definition.units,
        "fitted_at": at,
        "fitted_value": found["value"],
        "slope_per_s": found["slope_per_s"],
        "significant": found["significant"],
        "limit_name": found["limit_name"],
        "limit": found["limit"],
        "crosses_at": at + dt.timedelta(seconds=ttl) if found["warns"] else None,
        "warns": found["warns"],
        "window_s": detector.window_s,
        "horizon_s": detector.horizon_s,
        "projection": [
            {"time": at, "value": found["value"]},
            {"time": end, "value": found["value"] + found["slope_per_s"] * reach},
        ],
    }
