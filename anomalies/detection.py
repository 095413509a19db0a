"""Where detection runs: inline limit checks in the ingest transaction, beat sweeps for the
statistical, rate, stuck-value and stale detectors, and a read-only analysis for the API.

Each (parameter, detector) has a DetectorCursor holding how far it has been evaluated and the
tracker's carried state. Ingest records what it stored (Arrival rows, in its transaction); sweeps
consume them and apply every arrived sample newer than the cursor once, in sample order, however
old it is: played-back telemetry is analysed like live telemetry, recorded as playback (is_late)
and never paged. Samples arriving behind a cursor (another station's earlier pass) are analysed
on their own and recorded as closed playback alarms, unless an alarm already covers them (a
re-sent batch). Cursors are claimed with FOR UPDATE (SKIP LOCKED in sweeps), so re-running over
the same data, or two sweeps at once, never records an episode twice; the one-live-alarm
constraint on Anomaly is the backstop. Episodes become alarms in `anomalies.recording`.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

import numpy as np
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from spacecraft.models import ConfigVersion, Spacecraft
from telemetry.models import LatestValue, ParameterDefinition

from . import config, reading
from .detectors import CRITICAL, Detector, ForecastDetector, StaleDetector
from .episodes import Episode, TrackerState, sliced, track
from .models import Anomaly, Arrival, DetectorCursor, DetectorKind, Severity
from .recording import DetectionResult, Recorder, Target, entry_of

logger = logging.getLogger(__name__)
US = 1_000_000
ANCHOR_US = reading.to_us(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
STALE_FIRST_SWEEP_S = 60.0  # a parameter's first stale sweep raises only silences this recent
EPOCH_2000 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # what the archive's µs times count from


def current_specs(spacecraft_ids) -> dict:
    """{spacecraft id: parameters of its newest configuration}, in one query."""
    rows = (
        ConfigVersion.objects.filter(spacecraft_id__in=list(spacecraft_ids))
        .order_by("spacecraft_id", "-version")
        .distinct("spacecraft_id")
        .values_list("spacecraft_id", "parameters")
    )
    return dict(rows)


def spec_of(definition: ParameterDefinition, specs: dict) -> dict:
    return specs.get(definition.name) or {"type": definition.type, "subsystem": definition.subsystem}


# --- finding episodes in arrays (no database) ----------------------------------------------------


def find_episodes(
    detectors: dict[str, Detector],
    t: np.ndarray,
    x: np.ndarray,
    *,
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


def _claim_cursors(pids: list[int], kinds, *, skip_locked: bool) -> dict:
    DetectorCursor.objects.bulk_create(
        [DetectorCursor(parameter_id=pid, detector=kind) for pid in pids for kind in kinds], ignore_conflicts=True
    )
    rows = (
        DetectorCursor.objects.select_for_update(skip_locked=skip_locked)
        .filter(parameter_id__in=pids, detector__in=list(kinds))
        .order_by("parameter_id", "detector")
    )
    return {(c.parameter_id, c.detector): c for c in rows}


def _apply(
    cursor: DetectorCursor,
    target: Target,
    detector: Detector,
    t_us,
    x,
    *,
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
        record_in_order([(recorder, episode) for episode in episodes], result)
    result.samples += len(t_us) - start
    cursor.evaluated_until = reading.to_datetime(t_us[-1])
    cursor.state = state.dump()
    cursor.active = state.open or state.run > 0 or any(v is True for v in state.carry.values())


def record_in_order(found: list, result: DetectionResult) -> None:
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


def _record_history(target: Target, detector: Detector, t_us, x, behind, *, now, result: DetectionResult) -> None:
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
    for _, episode in find_episodes({detector.kind: detector}, t, x[lo : last + 1]):
        if episode.last_seen < segment_start or recorder.overlaps_recorded(episode):
            continue
        recorder.record(episode)
    result.add(recorder.result)


def record_arrivals(*, pids, times, checked, arrived_at: dt.datetime) -> None:
    """One Arrival per parameter (and per limits_checked) of a stored batch, for the sweeps."""
    rows = []
    by_pid = reading.split(pids)
    for pid, part in by_pid.items():
        for flag in (True, False):
            mine = times[part][checked[part] == flag]
            if len(mine):
                rows.append((pid, int(mine.min()), int(mine.max()), flag))
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO anomalies_arrival (parameter_id, first_time, last_time, arrived_at, limits_checked) "
            "SELECT u.pid, %s::timestamptz + u.first_us * interval '1 microsecond', "
            "%s::timestamptz + u.last_us * interval '1 microsecond', %s, u.checked "
            "FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::boolean[]) "
            "AS u(pid, first_us, last_us, checked)",
            [
                EPOCH_2000,
                EPOCH_2000,
                arrived_at,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ],
        )


# --- inline, in the ingest transaction -----------------------------------------------------------


def check_stored_batch(*, batch, **kwargs) -> DetectionResult:
    """Receiver of telemetry.signals.samples_stored (connected in AnomaliesConfig.ready)."""
    return check_ingested(
        spacecraft=batch.spacecraft,
        params=batch.params,
        pids=batch.pids,
        times=batch.times,
        values=batch.values,
        stored=batch.stored,
    )


def check_ingested(
    *, spacecraft: dict, params: dict, pids, times, values, now=None, stored: int | None = None
) -> DetectionResult:
    """Limit checks for one ingested batch (arrays sorted by parameter, then time; times in µs since
    2000-01-01), and the batch's Arrival rows for the sweeps. Runs inside ingest's transaction: an
    ingest that rolls back records nothing. A batch that stored nothing new (`stored` 0: sent
    again) is not analysed again.

    Only live samples ahead of the limit cursor are checked here, in order with the carried state;
    played-back samples (older than ANOMALY_LATE_AFTER_S) and samples behind the cursor are left to
    the sweep, which analyses them in sample order. Fast path, vectorised over the whole batch: if
    no sample is beyond a limit and no parameter carries a violation, it costs two small queries."""
    result = DetectionResult()
    if not len(pids) or stored == 0:
        return result
    now = now or timezone.now()
    late_before = reading.to_us(now) - int(config.late_after_s() * US)
    checked = times >= late_before
    result = _check_limits(spacecraft, params, pids, times, values, checked, now=now)
    record_arrivals(pids=pids, times=times, checked=checked, arrived_at=now)
    return result


def _check_limits(spacecraft: dict, params: dict, pids, times, values, checked, *, now) -> DetectionResult:
    """The inline half of check_ingested; clears `checked` for the samples it leaves to the sweep."""
    result = DetectionResult()
    specs = current_specs(spacecraft)
    targets: dict[int, Target] = {}
    for sc_pk, known in params.items():
        sc_specs = specs.get(sc_pk, {})
        for name, p in known.items():
            spec = sc_specs.get(name)
            if spec and any(spec.get(k) is not None for k in ("warn_low", "warn_high", "crit_low", "crit_high")):
                targets[p.id] = Target(definition=p.definition, spacecraft=spacecraft[sc_pk], spec=spec)
    if not targets:
        return result
    unique, inverse = np.unique(pids, return_inverse=True)
    low, high = np.full(len(unique), -np.inf), np.full(len(unique), np.inf)
    detectors: dict[int, Detector] = {}
    for i, pid in enumerate(unique.tolist()):
        target = targets.get(pid)
        if target is None:
            continue
        detector = target.detectors(config.INLINE).get(DetectorKind.LIMIT)
        if detector is None:
            continue
        detectors[pid] = detector
        wl, wh, cl, ch = detector.limits
        lows = [v for v in (wl, cl) if v is not None]
        highs = [v for v in (wh, ch) if v is not None]
        low[i] = max(lows) if lows else -np.inf
        high[i] = min(highs) if highs else np.inf
    suspect = (values < low[inverse]) | (values > high[inverse])
    todo = {int(unique[i]) for i in np.unique(inverse[suspect]).tolist()}
    todo |= set(
        DetectorCursor.objects.filter(
            detector=DetectorKind.LIMIT, parameter_id__in=list(detectors), active=True
        ).values_list("parameter_id", flat=True)
    )
    todo &= set(detectors)
    if not todo:
        return result
    cursors = _claim_cursors(sorted(todo), [DetectorKind.LIMIT], skip_locked=False)
    by_pid = reading.split(pids)
    for pid in sorted(todo):
        part = by_pid[pid]
        t_us, x = times[part], values[part]
        cursor = cursors[(pid, DetectorKind.LIMIT)]
        live = checked[part].copy()
        ahead = live.copy()
        if cursor.evaluated_until is not None:
            ahead &= t_us > reading.to_us(cursor.evaluated_until)
        behind = live & ~ahead
        if behind.any():
            # Recent samples behind the cursor (another station's earlier pass): checked now, on
            # their own, and recorded as playback unless an alarm already covers them.
            _record_history(targets[pid], detectors[pid], t_us, x, behind, now=now, result=result)
        # Played-back samples are the sweep's (in sample order, with the other detectors).
        if ahead.any():
            _apply(cursor, targets[pid], detectors[pid], t_us[ahead], x[ahead], now=now, result=result, carry=True)
            cursor.save(update_fields=["evaluated_until", "state", "active", "updated_at"])
        result.parameters += 1
    return result


# --- beat sweeps ---------------------------------------------------------------------------------


def sweep(*, now: dt.datetime | None = None, spacecraft=None, progress=None) -> DetectionResult:
    """Run the swept detectors over every sample that arrived since the last sweep, in sample order
    per parameter, one transaction per spacecraft; and the stale detector over every parameter.
    Follows what was ingested (Arrival rows), not the wall clock: telemetry played back days late
    is analysed like live telemetry (and recorded as playback). Safe to run twice and concurrently:
    arrivals and cursors another sweep holds are skipped (SKIP LOCKED), applied samples never are
    applied again. A spacecraft whose sweep fails is rolled back, logged and counted (`failed`);
    the others are swept all the same."""
    now = now or timezone.now()
    fleet = spacecraft if spacecraft is not None else Spacecraft.objects.all()
    fleet = list(fleet.select_related("organization").order_by("designation"))
    specs = current_specs([sc.pk for sc in fleet])
    result = DetectionResult()
    for sc in fleet:
        try:
            with transaction.atomic():
                result.add(_sweep_spacecraft(sc, specs.get(sc.pk, {}), now=now))
        except (OperationalError, InterfaceError):
            raise  # the database is gone: no other spacecraft would fare better
        except Exception:
            # One spacecraft's failure (its configuration, its data) must not stop every other
            # spacecraft's, other organizations' included: its work rolls back, the next sweep retries it.
            logger.exception("anomaly sweep of spacecraft %s (%s) failed", sc.designation, sc.pk)
            result.failed += 1
        if progress:
            progress(sc)
    return result


@dataclass
class Pending:
    """The arrivals of one parameter a sweep consumes."""

    ranges: list = field(default_factory=list)  # (first µs, last µs, limits_checked)
    arrived_us: int = 0

    def mask(self, t_us: np.ndarray, *, unchecked_only: bool = False) -> np.ndarray:
        inside = np.zeros(len(t_us), bool)
        for first, last, checked in self.ranges:
            if unchecked_only and checked:
                continue
            inside |= (t_us >= first) & (t_us <= last)
        return inside


def _claim_arrivals(pids: list[int], upto: dt.datetime) -> tuple[dict[int, Pending], list[int]]:
    rows = list(
        Arrival.objects.select_for_update(skip_locked=True)
        .filter(parameter_id__in=pids, first_time__lte=upto)
        .order_by("id")
        .values_list("id", "parameter_id", "first_time", "last_time", "arrived_at", "limits_checked")
    )
    pending: dict[int, Pending] = {}
    for _, pid, first, last, arrived, checked in rows:
        item = pending.setdefault(pid, Pending())
        item.ranges.append((reading.to_us(first), min(reading.to_us(last), reading.to_us(upto)), checked))
        item.arrived_us = max(item.arrived_us, reading.to_us(arrived))
    return pending, [row[0] for row in rows]


def _release_arrivals(ids: list[int], upto: dt.datetime) -> None:
    """Consumed arrivals go; the part of one beyond `upto` (not settled yet) waits for the next sweep."""
    if not ids:
        return
    Arrival.objects.filter(pk__in=ids, last_time__gt=upto).update(first_time=upto + dt.timedelta(microseconds=1))
    Arrival.objects.filter(pk__in=ids, last_time__lte=upto).delete()


def _sweep_spacecraft(sc: Spacecraft, specs: dict, *, now: dt.datetime) -> DetectionResult:
    result = DetectionResult()
    upto = now - dt.timedelta(seconds=config.sweep_settle_s())
    definitions = list(ParameterDefinition.objects.filter(spacecraft=sc))
    targets = {d.pk: Target(definition=d, spacecraft=sc, spec=spec_of(d, specs)) for d in definitions}
    kinds = (DetectorKind.LIMIT, *config.SWEPT, DetectorKind.STALE)
    detectors = {pid: target.detectors(kinds) for pid, target in targets.items()}
    detectors = {pid: built for pid, built in detectors.items() if built}
    # Every parameter's arrivals are consumed, those without a detector too (they would pile up).
    pending, arrival_ids = _claim_arrivals(sorted(targets), upto)
    pending = {pid: item for pid, item in pending.items() if pid in detectors}
    if not detectors:
        _release_arrivals(arrival_ids, upto)
        return result
    wanted = {(pid, DetectorKind.STALE) for pid, built in detectors.items() if DetectorKind.STALE in built}
    for pid, item in pending.items():
        for kind in detectors[pid]:
            if kind == DetectorKind.LIMIT and all(checked for *_, checked in item.ranges):
                continue  # checked inline, in order, by ingest
            wanted.add((pid, kind))
    cursors = _claim_cursors(sorted({pid for pid, _ in wanted}), kinds, skip_locked=True)
    cursors = {key: c for key, c in cursors.items() if key in wanted}
    result.skipped_locked = len(wanted) - len(cursors)
    if not cursors:
        _release_arrivals(arrival_ids, upto)
        return result
    pids = sorted({pid for pid, _ in cursors})
    starts = [reading.to_datetime(first) for item in pending.values() for first, _, _ in item.ranges]
    starts += [c.evaluated_until for (_, k), c in cursors.items() if c.evaluated_until and k != DetectorKind.STALE]
    stale_since = upto - dt.timedelta(seconds=config.sweep_history_s())
    since = min([*starts, stale_since])
    needed = max((d.history for built in detectors.values() for d in built.values()), default=0) + 1
    all_pids, all_times, all_values = reading.read_with_history(pids, since, upto, needed)
    by_pid = reading.split(all_pids)
    alive = np.unique(all_times)
    latest = dict(LatestValue.objects.filter(parameter_id__in=pids).values_list("parameter_id", "time"))
    live = {
        a.parameter_id: a
        for a in Anomaly.objects.live()
        .select_for_update(of=("self",))
        .select_related("spacecraft", "organization")
        .filter(parameter_id__in=pids)
    }
    late_after_us = int(config.late_after_s() * US)
    by_parameter: dict[int, dict] = {}
    for (pid, kind), cursor in cursors.items():
        by_parameter.setdefault(pid, {})[kind] = cursor
    for pid, mine in sorted(by_parameter.items()):
        target = targets[pid]
        part = by_pid.get(pid)
        t_us = all_times[part] if part else np.empty(0, np.int64)
        x = all_values[part] if part else np.empty(0)
        sink: list = []
        for kind, cursor in sorted(mine.items()):
            if kind == DetectorKind.STALE:
                continue
            detector, item = detectors[pid][kind], pending[pid]
            late_before_us = item.arrived_us - late_after_us
            if kind == DetectorKind.FORECAST:
                _sweep_forecast(
                    cursor, target, detector, item, now=now, live=live, late_after_us=late_after_us, sink=sink
                )
                continue
            arrived = item.mask(t_us, unchecked_only=kind == DetectorKind.LIMIT)
            if not arrived.any():
                continue
            if cursor.evaluated_until is None:
                # A parameter's first sweep starts at the first sample that arrived, however old.
                cursor.evaluated_until = reading.to_datetime(int(t_us[arrived][0]) - 1)
            behind = arrived & (t_us <= reading.to_us(cursor.evaluated_until))
            if behind.any():
                _record_history(target, detector, t_us, x, behind, now=now, result=result)
            _apply(
                cursor,
                target,
                detector,
                t_us,
                x,
                now=now,
                result=result,
                live=live,
                late_before_us=late_before_us,
                sink=sink,
            )
        record_in_order(sink, result)
        if DetectorKind.STALE in mine:
            _sweep_stale(
                mine[DetectorKind.STALE],
                target,
                detectors[pid][DetectorKind.STALE],
                t_us,
                alive,
                latest.get(pid),
                now=now,
                upto=upto,
                result=result,
                live=live,
            )
    save_cursors(list(cursors.values()))
    _release_arrivals(arrival_ids, upto)
    result.parameters += len(pids)
    return result


def _sweep_forecast(cursor, target, detector: ForecastDetector, item, *, now, live, late_after_us, sink) -> None:
    """Draw the forecast at each stride boundary the arrived samples pass, in time order, with the
    tracker's carried state (a warning opens after `persistence` draws that meet a limit)."""
    first_us = min(first for first, _, _ in item.ranges)
    last_us = max(last for _, last, _ in item.ranges)
    after = (reading.to_us(cursor.evaluated_until) - ANCHOR_US) / US if cursor.evaluated_until else None
    start = after if after is not None else (first_us - ANCHOR_US) / US
    if np.floor((last_us - ANCHOR_US) / US / detector.stride_s) <= np.floor(start / detector.stride_s):
        return  # no stride boundary passed: nothing to draw yet
    since = reading.to_datetime(ANCHOR_US + (start - detector.window_s - detector.smooth_s) * US)
    _, t_us, x = reading.read_window([target.definition.pk], since, reading.to_datetime(last_us))
    if not len(t_us):
        return
    times, ttl, flags = detector.forecasts((t_us - ANCHOR_US) / US, x, start)
    if not len(times):
        return
    state = TrackerState.load(cursor.state)
    episodes, state = track(
        times, ttl, flags, persistence=detector.persistence, clear_after=detector.clear_after, state=state
    )
    recorder = Recorder(
        target=target,
        kind=DetectorKind.FORECAST,
        base_us=ANCHOR_US,
        now=now,
        live=live,
        late_before_us=item.arrived_us - late_after_us,
    )
    sink += [(recorder, episode) for episode in episodes]
    cursor.evaluated_until = reading.to_datetime(ANCHOR_US + times[-1] * US)
    cursor.state = state.dump()
    cursor.active = state.open or state.run > 0


def forecast_now(*, target: Target, now: dt.datetime | None = None) -> dict | None:
    """The forecast line of one parameter at `now` (for the telemetry chart's dashed projection);
    None when the parameter has no warning limit or too few recent samples."""
    now = now or timezone.now()
    detector = target.detectors([DetectorKind.FORECAST]).get(DetectorKind.FORECAST)
    if detector is None:
        return None
    since = now - dt.timedelta(seconds=detector.window_s + detector.smooth_s)
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


def save_cursors(cursors: list[DetectorCursor]) -> None:
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


def _sweep_stale(cursor, target, detector: StaleDetector, t_us, alive, latest, *, now, upto, result, live) -> None:
    """Gaps are keyed by the parameter's last sample before them, so every sweep that sees a gap
    names the same one: opened once, raised to critical when it lasts, cleared when data is back.
    A silence whose onset no sweep could have seen (its last sample arrived played back, or
    before detection began) is not raised: late data must not page."""
    if not len(t_us) and latest is not None:
        t_us = np.array([reading.to_us(latest)], np.int64)
    if not len(t_us):
        return
    base = int(t_us[0])
    t = (t_us - base) / US
    upto_us = reading.to_us(upto)
    gaps = detector.gaps(t, (alive - base) / US, (upto_us - base) / US)
    after = reading.to_us(cursor.evaluated_until) if cursor.evaluated_until else None
    horizon = (cursor.state or {}).get("swept_until") or upto_us - int(STALE_FIRST_SWEEP_S * US)
    recorder = Recorder(
        target=target,
        kind=DetectorKind.STALE,
        base_us=base,
        now=now,
        live=live,
        late_before_us=upto_us - int(config.late_after_s() * US),
    )

    def current() -> tuple[Anomaly | None, dict | None]:
        alarm = recorder.live_alarm()
        entry = entry_of(alarm, DetectorKind.STALE) if alarm is not None else None
        return alarm, (entry if entry and entry["active"] else None)

    def back_at(entry: dict) -> Episode:
        """Clears the stale record at the parameter's first sample after its gap began."""
        key_us = reading.to_us(dt.datetime.fromisoformat(entry["key"]))
        i = min(int(np.searchsorted(t_us, key_us, side="right")), len(t) - 1)
        return Episode(started_at=np.nan, detected_at=np.nan, last_seen=np.nan, cleared_at=float(t[i]), continues=True)

    for gap in gaps:
        if after is not None and gap["ended_at"] is not None and base + gap["ended_at"] * US <= after:
            continue  # ended before this cursor: recorded by an earlier sweep (or before detection began)
        episode = stale_episode(gap)
        key = recorder.at(episode.started_at).isoformat()
        alarm, entry = current()
        if entry is not None and entry.get("key") == key:
            recorder.merge(alarm, _stale_update(episode), late=False)
            continue
        if gap["ended_at"] is None and base + gap["started_at"] * US < horizon:
            continue
        if entry is not None:
            recorder.merge(alarm, back_at(entry), late=False)
        recorder.record(episode)
    alarm, entry = current()
    if entry is not None and not any(g["ended_at"] is None for g in gaps):
        if reading.to_us(dt.datetime.fromisoformat(entry["key"])) < t_us[-1]:
            recorder.merge(alarm, back_at(entry), late=False)
    result.add(recorder.result)
    # The last sample seen, not the sweep's clock: a gap in samples that arrive a little late is
    # still ahead of the cursor when they do.
    previous = reading.to_us(cursor.evaluated_until) if cursor.evaluated_until else int(t_us[-1])
    cursor.evaluated_until = reading.to_datetime(max(int(t_us[-1]), previous))
    cursor.state = {"swept_until": upto_us}
    cursor.active = current()[1] is not None


def _stale_update(episode: Episode) -> Episode:
    """An ongoing gap seen again: it may have become critical, or ended."""
    update = Episode(
        started_at=np.nan,
        detected_at=np.nan,
        last_seen=episode.last_seen,
        level=episode.level,
        critical_since=episode.critical_since,
        cleared_at=episode.cleared_at,
        continues=True,
    )
    update.peak_value, update.peak_score = episode.peak_value, episode.peak_score
    update.threshold, update.threshold_value = episode.threshold, episode.threshold_value
    return update


# --- read-only analysis -------------------------------------------------------------------------


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
        target = Target(definition=definition, spacecraft=spacecraft, spec=spec_of(definition, specs))
        detectors = target.detectors(None)
        t_us, x = times[part], values[part]
        base = int(t_us[0])
        t = (t_us - base) / US
        now_s = (reading.to_us(now) - base) / US
        for kind, episode in find_episodes(detectors, t, x, alive=(alive - base) / US, now=now_s):
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
