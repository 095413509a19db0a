"""Running detectors over stored series, shared by the inline limit checks and the sweeps.

Each (parameter, detector) has a DetectorCursor holding how far it has been evaluated and the
tracker's carried state; `apply_detector` applies the samples newer than the cursor once, in sample
order. Samples behind a cursor (another station's earlier pass) are analysed on their own and
recorded as closed playback alarms. Episodes become alarms in `recording`.
"""

import datetime as dt
import json

import numpy as np
from django.db import connection

from spacecraft.models import ConfigVersion
from telemetry.models import ParameterDefinition

from .. import reading
from ..detector_base import CRITICAL, Detector
from ..episodes import Episode, TrackerState, sliced, track
from ..forecast_detector import ForecastDetector
from ..models import DetectorCursor
from ..stale_detector import StaleDetector
from .recording import DetectionResult, Recorder, Target

US = 1_000_000
ANCHOR_US = reading.to_us(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


def current_specs(spacecraft_ids) -> dict:
    """{spacecraft id: parameters of its newest configuration}, in one query."""
    rows = (
        ConfigVersion.objects.filter(spacecraft_id__in=list(spacecraft_ids))
        .order_by("spacecraft_id", "-version")
        .distinct("spacecraft_id")
        .values_list("spacecraft_id", "parameters")
    )
    return dict(rows)


# (spacecraft id, version) -> that version's parameters: a configuration version is never edited
# (a change is a new version), so each is read once per process. Bounded: cleared when full.
_specs_by_version: dict[tuple, dict] = {}
SPECS_CACHED = 4096


def current_specs_of(spacecraft: dict) -> dict:
    """current_specs of {id: Spacecraft} loaded with their current configuration version (ingest
    loads it with the spacecraft: telemetry's with_stamps); no query when every version was read
    before. Read the specs; do not change them (they are shared)."""
    versions = {pk: getattr(sc, "config_version_now", None) for pk, sc in spacecraft.items()}
    if None in versions.values():  # not loaded with its version, or no configuration yet
        return current_specs(spacecraft)
    missing = [pk for pk, version in versions.items() if (pk, version) not in _specs_by_version]
    if missing:
        rows = ConfigVersion.objects.filter(
            spacecraft_id__in=missing, version__in={versions[pk] for pk in missing}
        ).values_list("spacecraft_id", "version", "parameters")
        if len(_specs_by_version) + len(missing) > SPECS_CACHED:
            _specs_by_version.clear()
        for pk, version, parameters in rows:
            if versions[pk] == version:
                _specs_by_version[(pk, version)] = parameters
    return {
        pk: _specs_by_version[(pk, version)] for pk, version in versions.items() if (pk, version) in _specs_by_version
    }


def spec_of(*, definition: ParameterDefinition, specs: dict) -> dict:
    """The parameter's spec in its spacecraft's configuration, or its type and subsystem alone."""
    return specs.get(definition.name) or {"type": definition.type, "subsystem": definition.subsystem}


# --- finding episodes in arrays (no database) ----------------------------------------------------


def find_episodes(
    *,
    detectors: dict[str, Detector],
    t: np.ndarray,
    x: np.ndarray,
    alive: np.ndarray | None = None,
    now: float | None = None,
) -> list[tuple[str, Episode]]:
    """Every episode each detector finds in one series (times in seconds), from a fresh state:
    what `analyze` returns and what the detection-quality bench scores."""
    found = []
    for kind, detector in detectors.items():
        if isinstance(detector, StaleDetector):
            if now is not None:
                gaps = detector.gaps(t, alive if alive is not None else t, now)
                found += [(kind, stale_episode(gap)) for gap in gaps]
            continue
        if isinstance(detector, ForecastDetector):
            times, ttl, flags = detector.forecasts(t, x, None)
            episodes, _ = track(times, ttl, flags, persistence=detector.persistence, clear_after=detector.clear_after)
            found += [(kind, episode) for episode in episodes]
            continue
        flags = detector.evaluate(t, x)
        episodes, _ = track(t, x, flags, persistence=detector.persistence, clear_after=detector.clear_after)
        found += [(kind, episode) for episode in episodes]
    return found


def stale_episode(gap: dict) -> Episode:
    """A gap the stale detector found, as an episode (its peak is the gap's length)."""
    episode = Episode(
        started_at=gap["last_sample"],
        detected_at=gap["started_at"],
        last_seen=gap["ended_at"] if gap["ended_at"] is not None else gap["started_at"],
        count=0,
        level=CRITICAL if gap["critical"] else 1,
        critical_since=gap["critical_since"],
        threshold=gap["threshold"],
        threshold_value=gap["threshold_value"],
        peak_value=gap["gap_s"],
        cleared_at=gap["ended_at"],
    )
    episode.peak_score = gap["gap_s"]
    return episode


# --- applying detectors to series ----------------------------------------------------------------


def claim_cursors(*, pids: list[int], kinds, skip_locked: bool) -> dict:
    """{(parameter id, kind): cursor} for these parameters and detectors, made if missing, locked FOR UPDATE."""
    DetectorCursor.objects.bulk_create(
        [DetectorCursor(parameter_id=pid, detector=kind) for pid in pids for kind in kinds], ignore_conflicts=True
    )
    rows = (
        DetectorCursor.objects.select_for_update(skip_locked=skip_locked)
        .filter(parameter_id__in=pids, detector__in=list(kinds))
        .order_by("parameter_id", "detector")
    )
    return {(c.parameter_id, c.detector): c for c in rows}


def apply_detector(
    *,
    cursor: DetectorCursor,
    target: Target,
    detector: Detector,
    t_us,
    x,
    now,
    result,
    carry=False,
    live=None,
    late_before_us=None,
    sink: list | None = None,
):
    """Run one detector over a series and apply the samples newer than the cursor, in sample order,
    with the tracker's carried state. Inline checks see only the batch and take the detector's
    carried state; sweeps read enough history instead. Times are seconds since a fixed anchor, so a
    carried violation run keeps its onset."""
    base = ANCHOR_US
    t = (t_us - base) / US
    flags = detector.evaluate(t, x, carry=TrackerState.load(cursor.state).carry if carry else None)
    start = 0
    if cursor.evaluated_until is not None:
        start = int(np.searchsorted(t_us, reading.to_us(cursor.evaluated_until), side="right"))
    if start >= len(t_us):
        return
    state = TrackerState.load(cursor.state)
    episodes, state = track(
        t[start:],
        x[start:],
        sliced(flags, start),
        persistence=detector.persistence,
        clear_after=detector.clear_after,
        state=state,
    )
    recorder = Recorder(
        target=target, kind=detector.kind, base_us=base, now=now, live=live, late_before_us=late_before_us
    )
    if sink is not None:
        sink += [(recorder, episode) for episode in episodes]
    else:
        record_in_order(found=[(recorder, episode) for episode in episodes], result=result)
    result.samples += len(t_us) - start
    cursor.evaluated_until = reading.to_datetime(t_us[-1])
    cursor.state = state.dump()
    cursor.active = state.open or state.run > 0 or any(v is True for v in state.carry.values())


def record_in_order(*, found: list, result: DetectionResult) -> None:
    """Record one parameter's episodes from several detectors in sample-time order (those carried
    over from the last sweep first), so its alarm opens, returns and clears as the samples did."""

    def onset(item):
        recorder, episode = item
        start = episode.first_seen if episode.continues else episode.started_at
        if start is None or start != start:
            return (0, 0.0)
        return (1, recorder.base_us + start * US)

    recorders = []
    for recorder, episode in sorted(found, key=onset):
        recorder.record(episode)
        if recorder not in recorders:
            recorders.append(recorder)
    for recorder in recorders:
        result.add(recorder.result)


def record_behind_cursor(*, target: Target, detector: Detector, t_us, x, behind, now, result: DetectionResult) -> None:
    """Samples that arrived behind a detector's cursor (another station's earlier pass, a re-sent
    part of a batch): evaluated on their own, from a fresh state with the history before them, and
    recorded as closed playback alarms. An episode overlapping an alarm already recorded is skipped:
    seen without its carried state, a re-sent batch's episode can start later than the first time."""
    index = np.flatnonzero(behind)
    first, last = int(index[0]), int(index[-1])
    lo = max(0, first - detector.history)
    base = int(t_us[lo])
    t = (t_us[lo : last + 1] - base) / US
    segment_start = (t_us[first] - base) / US
    recorder = Recorder(target=target, kind=detector.kind, base_us=base, now=now, history=True)
    for _, episode in find_episodes(detectors={detector.kind: detector}, t=t, x=x[lo : last + 1]):
        if episode.last_seen < segment_start or recorder.overlaps_recorded(episode):
            continue
        recorder.record(episode)
    result.add(recorder.result)


def save_cursors(*, cursors: list[DetectorCursor]) -> None:
    """One UPDATE for all of a sweep's cursors (bulk_update's CASE per row costs more than the sweep)."""
    if not cursors:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE anomalies_detectorcursor c SET evaluated_until = u.until, state = u.state::jsonb, "
            "active = u.active, updated_at = now() FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], "
            "%s::boolean[]) AS u(id, until, state, active) WHERE c.id = u.id",
            [
                [c.pk for c in cursors],
                [c.evaluated_until for c in cursors],
                [json.dumps(c.state) for c in cursors],
                [bool(c.active) for c in cursors],
            ],
        )
