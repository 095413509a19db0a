"""Beat sweeps: the statistical, rate, stuck-value, forecast and stale detectors over what arrived.

Ingest records what it stored (Arrival rows, in its transaction); sweeps consume them and apply
every arrived sample newer than the cursor once, in sample order, however old it is: played-back
telemetry is analysed like live telemetry, recorded as playback (is_late) and never paged. Cursors
are claimed with FOR UPDATE SKIP LOCKED, so re-running over the same data, or two sweeps at once,
never records an episode twice; the one-live-alarm constraint on Anomaly is the backstop.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from spacecraft.models import Spacecraft
from telemetry.models import LatestValue, ParameterDefinition

from .. import config, reading
from ..episodes import Episode, TrackerState, track
from ..forecast_detector import ForecastDetector
from ..models import Anomaly, Arrival, DetectorKind
from ..stale_detector import StaleDetector
from .detector_runs import (
    ANCHOR_US,
    US,
    apply_detector,
    claim_cursors,
    current_specs,
    record_behind_cursor,
    record_in_order,
    save_cursors,
    spec_of,
    stale_episode,
)
from .recording import DetectionResult, Recorder, Target, entry_of

logger = logging.getLogger(__name__)
STALE_FIRST_SWEEP_S = 60.0  # a parameter's first stale sweep raises only silences this recent


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
    targets = {d.pk: Target(definition=d, spacecraft=sc, spec=spec_of(definition=d, specs=specs)) for d in definitions}
    kinds = (DetectorKind.LIMIT, *config.SWEPT, DetectorKind.STALE)
    detectors = {pid: target.detectors(kinds) for pid, target in targets.items()}
    detectors = {pid: built for pid, built in detectors.items() if built}
    # Every parameter's arrivals are consumed, those without a detector too (they would pile up).
    pending, arrival_ids = _claim_arrivals(sorted(targets), upto)
    pending = {pid: item for pid, item in pending.items() if pid in detectors}
    if not detectors:
        _release_arrivals(arrival_ids, upto)
        return result
    cursors, wanted = _claim_wanted_cursors(detectors, pending, kinds)
    result.skipped_locked = wanted - len(cursors)
    if not cursors:
        _release_arrivals(arrival_ids, upto)
        return result
    pids = sorted({pid for pid, _ in cursors})
    all_pids, all_times, all_values = _read_series(pids, pending, cursors, detectors, upto)
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
    by_parameter: dict[int, dict] = {}
    for (pid, kind), cursor in cursors.items():
        by_parameter.setdefault(pid, {})[kind] = cursor
    for pid, mine in sorted(by_parameter.items()):
        part = by_pid.get(pid)
        _sweep_parameter(
            targets[pid],
            mine,
            detectors[pid],
            pending.get(pid),
            all_times[part] if part else np.empty(0, np.int64),
            all_values[part] if part else np.empty(0),
            alive,
            latest.get(pid),
            now=now,
            upto=upto,
            live=live,
            result=result,
        )
    save_cursors(cursors=list(cursors.values()))
    _release_arrivals(arrival_ids, upto)
    result.parameters += len(pids)
    return result


def _claim_wanted_cursors(detectors: dict, pending: dict, kinds) -> tuple[dict, int]:
    """The cursors this sweep has work for (stale: every parameter; the others: those with
    arrivals), claimed SKIP LOCKED; and how many it wanted."""
    wanted = {(pid, DetectorKind.STALE) for pid, built in detectors.items() if DetectorKind.STALE in built}
    for pid, item in pending.items():
        for kind in detectors[pid]:
            if kind == DetectorKind.LIMIT and all(checked for *_, checked in item.ranges):
                continue  # checked inline, in order, by ingest
            wanted.add((pid, kind))
    cursors = claim_cursors(pids=sorted({pid for pid, _ in wanted}), kinds=kinds, skip_locked=True)
    return {key: c for key, c in cursors.items() if key in wanted}, len(wanted)


def _read_series(pids: list[int], pending: dict, cursors: dict, detectors: dict, upto: dt.datetime):
    """The samples the sweep needs: from the oldest arrival or cursor (and the stale window), with
    enough history before it for every window detector."""
    starts = [reading.to_datetime(first) for item in pending.values() for first, _, _ in item.ranges]
    starts += [c.evaluated_until for (_, k), c in cursors.items() if c.evaluated_until and k != DetectorKind.STALE]
    stale_since = upto - dt.timedelta(seconds=config.sweep_history_s())
    since = min([*starts, stale_since])
    needed = max((d.history for built in detectors.values() for d in built.values()), default=0) + 1
    return reading.read_with_history(pids, since, upto, needed)


def _sweep_parameter(target, mine: dict, detectors: dict, item, t_us, x, alive, latest, *, now, upto, live, result):
    """One parameter's claimed cursors: its window detectors over what arrived, recorded in sample
    order, then its stale detector."""
    late_after_us = int(config.late_after_s() * US)
    sink: list = []
    for kind, cursor in sorted(mine.items()):
        if kind == DetectorKind.STALE:
            continue
        detector = detectors[kind]
        late_before_us = item.arrived_us - late_after_us
        if kind == DetectorKind.FORECAST:
            _sweep_forecast(cursor, target, detector, item, now=now, live=live, late_after_us=late_after_us, sink=sink)
            continue
        arrived = item.mask(t_us, unchecked_only=kind == DetectorKind.LIMIT)
        if not arrived.any():
            continue
        if cursor.evaluated_until is None:
            # A parameter's first sweep starts at the first sample that arrived, however old.
            cursor.evaluated_until = reading.to_datetime(int(t_us[arrived][0]) - 1)
        behind = arrived & (t_us <= reading.to_us(cursor.evaluated_until))
        if behind.any():
            record_behind_cursor(
                target=target, detector=detector, t_us=t_us, x=x, behind=behind, now=now, result=result
            )
        apply_detector(
            cursor=cursor,
            target=target,
            detector=detector,
            t_us=t_us,
            x=x,
            now=now,
            result=result,
            live=live,
            late_before_us=late_before_us,
            sink=sink,
        )
    record_in_order(found=sink, result=result)
    if DetectorKind.STALE in mine:
        _sweep_stale(
            mine[DetectorKind.STALE],
            target,
            detectors[DetectorKind.STALE],
            t_us,
            alive,
            latest,
            now=now,
            upto=upto,
            result=result,
            live=live,
        )


def _sweep_forecast(cursor, target, detector: ForecastDetector, item, *, now, live, late_after_us, sink) -> None:
    """Draw the forecast at each stride boundary the arrived samples pass, in time order, with the
    tracker's carried state (a warning opens after `persistence` draws that meet a limit)."""
    first_us = min(first for first, _, _ in item.ranges)
    last_us = max(last for _, last, _ in item.ranges)
    after = (reading.to_us(cursor.evaluated_until) - ANCHOR_US) / US if cursor.evaluated_until else None
    start = after if after is not None else (first_us - ANCHOR_US) / US
    if np.floor((last_us - ANCHOR_US) / US / detector.stride_s) <= np.floor(start / detector.stride_s):
        return  # no stride boundary passed: nothing to draw yet
    since = reading.to_datetime(ANCHOR_US + (start - detector.span_s) * US)
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
        entry = entry_of(anomaly=alarm, kind=DetectorKind.STALE) if alarm is not None else None
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
