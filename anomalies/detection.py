"""Where detection runs: inline limit checks in the ingest transaction, beat sweeps for the
statistical, rate, stuck-value and stale detectors, and a read-only analysis for the API.

Each (parameter, detector) has a DetectorCursor holding how far it has been evaluated and the
tracker's carried state. Only samples newer than the cursor are applied, and cursors are claimed
with FOR UPDATE (SKIP LOCKED in sweeps), so re-running over the same data, or two sweeps at once,
never makes a second anomaly for one episode; the constraints on Anomaly are the backstop.
Telemetry older than `ANOMALY_LATE_AFTER_S` when it arrives is evaluated on its own (no carried
state), recorded with is_late=True, and never paged or escalated; so are newer samples arriving
behind the limit cursor (another station's earlier pass), except episodes overlapping one already
recorded (a re-sent batch). The swept detectors still see only samples newer than their cursors.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

import numpy as np
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from spacecraft.models import ConfigVersion, Spacecraft
from telemetry.models import LatestValue, ParameterDefinition

from . import config, notify, reading
from .detectors import CRITICAL, Detector, StaleDetector
from .episodes import Episode, TrackerState, sliced, track
from .models import Anomaly, DetectorCursor, DetectorKind, Severity

logger = logging.getLogger(__name__)
US = 1_000_000
ANCHOR_US = reading.to_us(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


@dataclass
class Target:
    """One parameter as detection sees it: its definition, configuration and spacecraft."""

    definition: ParameterDefinition
    spacecraft: Spacecraft
    spec: dict

    @property
    def latching(self) -> bool:
        return bool(self.spec.get("latching"))

    def detectors(self, kinds) -> dict[str, Detector]:
        return config.build_detectors(
            self.spec, mission_type=self.spacecraft.mission_type, mode=self.spacecraft.mode, kinds=kinds
        )


@dataclass
class DetectionResult:
    parameters: int = 0
    samples: int = 0
    opened: int = 0
    updated: int = 0
    cleared: int = 0
    skipped_locked: int = 0
    failed: int = 0  # spacecraft whose sweep raised (logged, rolled back)
    anomalies: list = field(default_factory=list)

    def add(self, other: "DetectionResult") -> None:
        for name in ("parameters", "samples", "opened", "updated", "cleared", "skipped_locked", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.anomalies += other.anomalies

    def as_dict(self) -> dict:
        return {
            "parameters": self.parameters,
            "samples": self.samples,
            "opened": self.opened,
            "updated": self.updated,
            "cleared": self.cleared,
            "skipped_locked": self.skipped_locked,
            "failed": self.failed,
        }


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


# --- recording episodes -------------------------------------------------------------------------


class Recorder:
    """Turns tracker episodes into Anomaly rows: create, extend, raise severity, clear or latch."""

    def __init__(
        self, *, target: Target, kind: str, base_us: int, is_late: bool, now: dt.datetime, live: dict | None = None
    ):
        self.target, self.kind, self.base_us, self.is_late, self.now = target, kind, base_us, is_late, now
        self.result = DetectionResult()
        self.live = live  # {(parameter id, detector): live Anomaly}, locked by the caller; None: query
        self.key = (target.definition.pk, kind)

    def at(self, seconds: float | None) -> dt.datetime | None:
        if seconds is None or seconds != seconds:  # None or NaN
            return None
        return reading.to_datetime(self.base_us + seconds * US)

    def record(self, episode: Episode) -> Anomaly | None:
        if episode.continues:
            live = self._live()
            if live is not None:
                return self._extend(live, episode)
            if not episode.count:
                return None
            # The episode was resolved by an operator meanwhile: what still violates is a new one.
            episode.started_at = episode.detected_at = episode.first_seen
        return self._create(episode)

    def overlaps_recorded(self, episode: Episode) -> bool:
        """An anomaly of this parameter and detector already covers part of the episode."""
        start, end = self.at(episode.started_at), self.at(episode.last_seen)
        return (
            Anomaly.objects.filter(parameter=self.target.definition, detector=self.kind, started_at__lte=end)
            .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=start))
            .exists()
        )

    def _live(self) -> Anomaly | None:
        if self.live is not None:
            return self.live.get(self.key)
        return (
            Anomaly.objects.live()
            .select_for_update()
            .filter(parameter=self.target.definition, detector=self.kind)
            .first()
        )

    def _create(self, episode: Episode) -> Anomaly | None:
        target = self.target
        definition, sc = target.definition, target.spacecraft
        critical = episode.level >= CRITICAL
        started = self.at(episode.started_at)
        anomaly = Anomaly(
            organization_id=sc.organization_id,
            spacecraft=sc,
            parameter=definition,
            parameter_name=definition.name,
            subsystem=definition.subsystem,
            units=definition.units,
            detector=self.kind,
            severity=Severity.CRITICAL if critical else Severity.WARNING,
            threshold=episode.threshold[:32],
            threshold_value=episode.threshold_value,
            mode=sc.mode,
            started_at=started,
            detected_at=self.at(episode.detected_at),
            last_seen_at=self.at(episode.last_seen),
            peak_value=episode.peak_value,
            peak_at=self.at(episode.peak_at),
            peak_score=episode.peak_score if np.isfinite(episode.peak_score) else 0.0,
            sample_count=episode.count,
            critical_since=self.at(episode.critical_since),
            latching=target.latching,
            is_late=self.is_late,
            context=subsystem_context(definition, started),
        )
        if episode.cleared_at is not None:
            if target.latching and not self.is_late:
                anomaly.latched = True
            else:
                anomaly.cleared_at = self.at(episode.cleared_at)
        elif self.is_late:
            anomaly.cleared_at = anomaly.last_seen_at  # history: it ended where the backfill ends
        anomaly.message = anomaly.describe()[:300]
        try:
            with transaction.atomic():
                anomaly.save()
        except IntegrityError:
            # Recorded already (same onset), or a live episode exists the carried state did not know.
            live = None if self.is_late else self._live()
            if live is None or live.started_at == started:
                return None
            episode.continues = True
            return self._extend(live, episode)
        self.result.opened += 1
        self.result.anomalies.append(anomaly)
        if self.live is not None and anomaly.cleared_at is None and not self.is_late:
            self.live[self.key] = anomaly
        notify.anomaly_changed(anomaly, "anomaly.detected")
        if anomaly.cleared_at is not None and not self.is_late:
            notify.anomaly_changed(anomaly, "anomaly.cleared")
        return anomaly

    def _extend(self, anomaly: Anomaly, episode: Episode) -> Anomaly:
        changed = {"updated_at"}
        raised = False
        if episode.count:
            last_seen = self.at(episode.last_seen)
            if last_seen > anomaly.last_seen_at:
                anomaly.last_seen_at = last_seen
                changed.add("last_seen_at")
            anomaly.sample_count += episode.count
            changed.add("sample_count")
            if anomaly.latched:
                anomaly.latched = False  # the condition is back
                changed.add("latched")
        if np.isfinite(episode.peak_score) and episode.peak_score > anomaly.peak_score:
            anomaly.peak_value, anomaly.peak_at, anomaly.peak_score = (
                episode.peak_value,
                self.at(episode.peak_at),
                episode.peak_score,
            )
            anomaly.threshold, anomaly.threshold_value = episode.threshold[:32], episode.threshold_value
            changed |= {"peak_value", "peak_at", "peak_score", "threshold", "threshold_value"}
        if episode.level >= CRITICAL and anomaly.severity != Severity.CRITICAL:
            anomaly.severity = Severity.CRITICAL
            anomaly.critical_since = self.at(episode.critical_since) or self.now
            changed |= {"severity", "critical_since"}
            raised = True
        if changed - {"updated_at", "sample_count", "last_seen_at", "latched"}:
            anomaly.message = anomaly.describe()[:300]
            changed.add("message")
        cleared = False
        if episode.cleared_at is not None and anomaly.cleared_at is None:
            if anomaly.latching and anomaly.awaits_acknowledgement:
                if not anomaly.latched:
                    anomaly.latched = True
                    changed.add("latched")
            else:
                anomaly.cleared_at, anomaly.latched = self.at(episode.cleared_at), False
                changed |= {"cleared_at", "latched"}
                cleared = True
        anomaly.save(update_fields=sorted(changed))
        self.result.updated += 1
        if self.live is not None and anomaly.cleared_at is not None:
            self.live.pop(self.key, None)
        if raised:
            notify.anomaly_changed(anomaly, "anomaly.severity_raised")
        if cleared:
            self.result.cleared += 1
            notify.anomaly_changed(anomaly, "anomaly.cleared")
        return anomaly


def subsystem_context(definition: ParameterDefinition, at: dt.datetime | None) -> dict:
    """The other parameters of the subsystem at onset: each one's last sample at or before it."""
    if at is None or not definition.subsystem:
        return {}
    others = {
        d.pk: d
        for d in ParameterDefinition.objects.filter(
            spacecraft_id=definition.spacecraft_id, subsystem=definition.subsystem
        ).exclude(pk=definition.pk)
    }
    if not others:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (parameter_id) parameter_id, time, value FROM telemetry_sample "
            "WHERE parameter_id = ANY(%s) AND time <= %s AND time > %s ORDER BY parameter_id, time DESC",
            [list(others), at, at - dt.timedelta(minutes=10)],
        )
        rows = cursor.fetchall()
    context = {}
    for pid, moment, value in rows:
        d = others[pid]
        context[d.name] = {
            "value": d.display_value(value),
            "units": d.units,
            "time": moment.isoformat(),
            "status": d.status_of(value),
        }
    return dict(sorted(context.items()))


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


def _apply(cursor: DetectorCursor, target: Target, detector: Detector, t_us, x, *, now, result, carry=False, live=None):
    """Run one detector over a series and apply the samples newer than the cursor. Inline checks see
    only the batch and take the detector's carried state; sweeps read enough history instead.
    Times are seconds since a fixed anchor, so a carried violation run keeps its onset."""
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
    recorder = Recorder(target=target, kind=detector.kind, base_us=base, is_late=False, now=now, live=live)
    for episode in episodes:
        recorder.record(episode)
    result.add(recorder.result)
    result.samples += len(t_us) - start
    cursor.evaluated_until = reading.to_datetime(t_us[-1])
    cursor.state = state.dump()
    cursor.active = state.open or state.run > 0 or any(v is True for v in state.carry.values())


def _record_late(
    target: Target, detectors: dict, t_us, x, *, now, result: DetectionResult, skip_recorded: bool = False
) -> None:
    """Episodes of samples evaluated on their own (no carried state), recorded as history (is_late).
    With `skip_recorded`, an episode overlapping one already recorded is skipped: samples behind the
    cursor may be a re-sent batch, whose episodes, seen without their carried state, can start later
    than the ones recorded the first time."""
    base = int(t_us[0])
    t = (t_us - base) / US
    for kind, episode in find_episodes(detectors, t, x):
        recorder = Recorder(target=target, kind=kind, base_us=base, is_late=True, now=now)
        if skip_recorded and recorder.overlaps_recorded(episode):
            continue
        recorder.record(episode)
        result.add(recorder.result)


# --- inline, in the ingest transaction -----------------------------------------------------------


def check_ingested(*, spacecraft: dict, params: dict, pids, times, values, now=None) -> DetectionResult:
    """Limit checks for one ingested batch (arrays sorted by parameter, then time; times in µs since
    2000-01-01). Runs inside ingest's transaction: an ingest that rolls back records nothing.

    Fast path, vectorised over the whole batch: if no sample is beyond a limit and no parameter of
    the batch carries a violation (an active cursor, which also holds the deadband's state), it
    costs two small queries and returns."""
    result = DetectionResult()
    if not len(pids):
        return result
    now = now or timezone.now()
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
    late_before = reading.to_us(now) - int(config.late_after_s() * US)
    by_pid = reading.split(pids)
    for pid in sorted(todo):
        part = by_pid[pid]
        t_us, x = times[part], values[part]
        target, detector = targets[pid], detectors[pid]
        cursor = cursors[(pid, DetectorKind.LIMIT)]
        limit, late = {DetectorKind.LIMIT: detector}, t_us < late_before
        if late.any():
            _record_late(target, limit, t_us[late], x[late], now=now, result=result)
        # Recent samples the cursor has passed (another station's earlier pass, a re-sent batch):
        # _apply would skip them, so they are checked like late data.
        ahead = ~late
        if cursor.evaluated_until is not None:
            behind = ahead & (t_us <= reading.to_us(cursor.evaluated_until))
            if behind.any():
                _record_late(target, limit, t_us[behind], x[behind], now=now, result=result, skip_recorded=True)
                ahead &= ~behind
        t_us, x = t_us[ahead], x[ahead]
        if len(t_us):
            _apply(cursor, target, detector, t_us, x, now=now, result=result, carry=True)
            cursor.save(update_fields=["evaluated_until", "state", "active", "updated_at"])
        result.parameters += 1
    return result


# --- beat sweeps ---------------------------------------------------------------------------------


def sweep(*, now: dt.datetime | None = None, spacecraft=None, progress=None) -> DetectionResult:
    """Run the swept detectors (rate, stuck value, z-score, IQR, EWMA, stale) over every
    spacecraft's samples since its cursors, one transaction per spacecraft. Safe to run twice and
    concurrently: cursors another sweep holds are skipped (SKIP LOCKED), applied samples never are
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


def _sweep_spacecraft(sc: Spacecraft, specs: dict, *, now: dt.datetime) -> DetectionResult:
    result = DetectionResult()
    upto = now - dt.timedelta(seconds=config.sweep_settle_s())
    definitions = list(ParameterDefinition.objects.filter(spacecraft=sc))
    targets = {d.pk: Target(definition=d, spacecraft=sc, spec=spec_of(d, specs)) for d in definitions}
    kinds = (*config.SWEPT, DetectorKind.STALE)
    detectors = {pid: target.detectors(kinds) for pid, target in targets.items()}
    detectors = {pid: built for pid, built in detectors.items() if built}
    if not detectors:
        return result
    wanted = {(pid, kind) for pid, built in detectors.items() for kind in built}
    cursors = _claim_cursors(sorted(detectors), kinds, skip_locked=True)
    cursors = {key: c for key, c in cursors.items() if key in wanted}
    result.skipped_locked = len(wanted) - len(cursors)
    if not cursors:
        return result
    lookback = now - dt.timedelta(seconds=config.sweep_lookback_s())
    earliest = min((c.evaluated_until or lookback) for c in cursors.values())
    since = max(earliest, lookback - dt.timedelta(days=1)) - dt.timedelta(seconds=config.sweep_history_s())
    pids = sorted({pid for pid, _ in cursors})
    all_pids, all_times, all_values = reading.read_window(pids, since, upto)
    by_pid = reading.split(all_pids)
    alive = np.unique(all_times)
    latest = dict(LatestValue.objects.filter(parameter_id__in=pids).values_list("parameter_id", "time"))
    live = {
        (a.parameter_id, a.detector): a
        for a in Anomaly.objects.live()
        .select_for_update(of=("self",))
        .select_related("spacecraft", "organization")
        .filter(parameter_id__in=pids)
    }
    for (pid, kind), cursor in sorted(cursors.items()):
        target, detector = targets[pid], detectors[pid][kind]
        part = by_pid.get(pid)
        t_us = all_times[part] if part else np.empty(0, np.int64)
        x = all_values[part] if part else np.empty(0)
        if cursor.evaluated_until is None:
            # A first sweep starts at the lookback, not at the beginning of the archive.
            cursor.evaluated_until = max(lookback, reading.to_datetime(t_us[0] - 1)) if len(t_us) else lookback
        if kind == DetectorKind.STALE:
            _sweep_stale(
                cursor, target, detector, t_us, alive, latest.get(pid), now=now, upto=upto, result=result, live=live
            )
        elif len(t_us):
            _apply(cursor, target, detector, t_us, x, now=now, result=result, live=live)
    save_cursors(list(cursors.values()))
    result.parameters += len(pids)
    return result


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
    names the same episode: opened once, raised to critical when it lasts, cleared when data is back."""
    if not len(t_us) and latest is not None:
        t_us = np.array([reading.to_us(latest)], np.int64)
    if not len(t_us):
        return
    base = int(t_us[0])
    t = (t_us - base) / US
    gaps = detector.gaps(t, (alive - base) / US, (reading.to_us(upto) - base) / US)
    after = reading.to_us(cursor.evaluated_until) if cursor.evaluated_until else None
    recorder = Recorder(target=target, kind=DetectorKind.STALE, base_us=base, is_late=False, now=now, live=live)

    def back_at(anomaly: Anomaly) -> Episode:
        """Clears `anomaly` at the parameter's first sample after its gap began."""
        i = min(int(np.searchsorted(t_us, reading.to_us(anomaly.started_at), side="right")), len(t) - 1)
        return Episode(started_at=np.nan, detected_at=np.nan, last_seen=np.nan, cleared_at=float(t[i]))

    for gap in gaps:
        if after is not None and gap["ended_at"] is not None and base + gap["ended_at"] * US <= after:
            continue  # ended before this cursor: recorded by an earlier sweep (or before detection began)
        episode = stale_episode(gap)
        live = recorder._live()
        if live is not None and live.started_at == recorder.at(episode.started_at):
            recorder._extend(live, _stale_update(episode))
            continue
        if live is not None:
            recorder._extend(live, back_at(live))
        recorder.record(episode)
    live = recorder._live()
    if live is not None and not any(g["ended_at"] is None for g in gaps) and reading.to_us(live.started_at) < t_us[-1]:
        recorder._extend(live, back_at(live))
    result.add(recorder.result)
    cursor.evaluated_until = reading.to_datetime(max(int(t_us[-1]), reading.to_us(cursor.evaluated_until or upto)))
    cursor.active = recorder._live() is not None


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
