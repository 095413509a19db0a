"""From detector episodes to alarms: one alarm per (spacecraft, parameter) condition.

A detector's episode opens the parameter's alarm, or joins the live one (`detectors` gains or
updates that detector's record). The alarm's severity is the highest of its detectors', its
threshold and peak those of the most severe one (the first of them); it clears when every detector
has cleared, and it stops taking detections (`closed_at`) once it is back to normal and
acknowledged. A condition that returns while the alarm still waits for an acknowledgement comes
back on the same row (`returns`); one that returns `ANOMALY_CHATTER_COUNT` times within
`ANOMALY_CHATTER_WINDOW_S` is flagged chattering and no longer re-announced.

Episodes found in played-back telemetry (detected at a sample older than `ANOMALY_LATE_AFTER_S`
when it arrived) are recorded as playback (`is_late`): shown, never paged. Alarms of a parameter
suppressed by design in the spacecraft's mode are recorded with `suppressed_by`: never paged either.
"""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from spacecraft.models import Spacecraft
from telemetry.models import ParameterDefinition

from .. import config, notify, reading
from ..detector_base import CRITICAL, Detector
from ..episodes import Episode
from ..models import SEVERITY_RANK, Anomaly, DetectorKind, Severity

US = 1_000_000
MAX_ACTIVATIONS = 50


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

    @property
    def suppressed_by(self) -> str:
        return config.suppression(self.spec, self.spacecraft.mode)


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


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def entry_of(*, anomaly: Anomaly, kind: str) -> dict | None:
    """The alarm's entry for one detector kind, if that detector is part of it."""
    return next((e for e in anomaly.detectors if e["kind"] == kind), None)


def summarise(anomaly: Anomaly) -> None:
    """The alarm's own fields from its detectors' records: the most severe (then first) leads."""
    entries = anomaly.detectors
    if not entries:
        return
    lead = min(entries, key=lambda e: (-SEVERITY_RANK[e["severity"]], e["first_at"]))
    anomaly.detector = lead["kind"]
    anomaly.threshold, anomaly.threshold_value = lead["threshold"][:32], lead["threshold_value"]
    anomaly.peak_value, anomaly.peak_at, anomaly.peak_score = lead["peak_value"], _time(lead["peak_at"]), 0.0
    anomaly.peak_score = float(lead.get("peak_score") or 0.0)
    anomaly.severity = lead["severity"]
    critical = [e["critical_since"] for e in entries if e.get("critical_since")]
    anomaly.critical_since = _time(min(critical)) if critical else None
    anomaly.last_seen_at = max(anomaly.last_seen_at, max(_time(e["last_at"]) for e in entries))
    anomaly.message = anomaly.describe()[:300]


class Recorder:
    """Records one detector's episodes of one parameter on the parameter's alarm."""

    def __init__(
        self,
        *,
        target: Target,
        kind: str,
        base_us: int,
        now: dt.datetime,
        late_before_us: int | None = None,
        history: bool = False,
        live: dict | None = None,
    ):
        self.target, self.kind, self.base_us, self.now = target, kind, base_us, now
        self.late_before_us = late_before_us  # an episode detected before this is playback
        self.history = history  # out-of-order samples: recorded as closed playback alarms
        self.result = DetectionResult()
        self.live = live  # {parameter id: live Anomaly}, locked by the caller; None: query
        self.pid = target.definition.pk

    def at(self, seconds: float | None) -> dt.datetime | None:
        if seconds is None or seconds != seconds:  # None or NaN
            return None
        return reading.to_datetime(self.base_us + seconds * US)

    def is_late(self, episode: Episode) -> bool:
        if self.history:
            return True
        if self.late_before_us is None:
            return False
        detected = episode.detected_at if episode.detected_at == episode.detected_at else episode.last_seen
        return detected == detected and self.base_us + detected * US < self.late_before_us

    def live_alarm(self) -> Anomaly | None:
        if self.live is not None:
            return self.live.get(self.pid)
        return Anomaly.objects.live().select_for_update().filter(parameter_id=self.pid).first()

    def history_alarm(self, episode: Episode) -> Anomaly | None:
        """The closed playback alarm of this parameter the episode belongs to, if any."""
        start, end = self.at(episode.started_at), self.at(episode.last_seen) or self.at(episode.started_at)
        return (
            Anomaly.objects.select_for_update()
            .filter(parameter_id=self.pid, is_late=True, closed_at__isnull=False, started_at__lte=end)
            .filter(last_seen_at__gte=start - dt.timedelta(seconds=config.off_delay_s()))
            .order_by("-started_at")
            .first()
        )

    def overlaps_recorded(self, episode: Episode) -> bool:
        """An alarm of this parameter already covers part of the episode (a re-sent batch)."""
        start, end = self.at(episode.started_at), self.at(episode.last_seen)
        return (
            Anomaly.objects.filter(parameter_id=self.pid, started_at__lte=end)
            .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=start))
            .exists()
        )

    def record(self, episode: Episode) -> Anomaly | None:
        if episode.continues and not episode.count and episode.cleared_at is None and not episode.level:
            return None
        late = self.is_late(episode)
        alarm = None if self.history else self.live_alarm()
        if alarm is not None and late and not alarm.is_late and self.at(episode.last_seen) < alarm.started_at:
            # History from before the live condition: a playback alarm of its own (one per
            # condition there too: another detector's episode of that time joins it).
            past = self.history_alarm(episode)
            if past is not None:
                return self.merge(past, episode, late=True)
            return self._create(episode, late=True, closed=True)
        if alarm is None:
            if episode.continues:
                if not episode.count:
                    return None
                # The alarm was closed meanwhile (resolved): what still violates is a new condition.
                episode.started_at = episode.detected_at = episode.first_seen
            return self._create(episode, late=late, closed=self.history)
        return self.merge(alarm, episode, late=late)

    def entry(self, episode: Episode) -> dict:
        critical = episode.level >= CRITICAL
        first = self.at(episode.detected_at) if self.kind == DetectorKind.STALE else self.at(episode.started_at)
        return {
            "kind": self.kind,
            "severity": Severity.CRITICAL if critical else Severity.WARNING,
            "threshold": episode.threshold[:32],
            "threshold_value": episode.threshold_value,
            "first_at": _iso(first),
            "last_at": _iso(self.at(episode.last_seen) or first),
            "peak_value": episode.peak_value,
            "peak_at": _iso(self.at(episode.peak_at)),
            "peak_score": float(episode.peak_score) if np.isfinite(episode.peak_score) else 0.0,
            "critical_since": _iso(self.at(episode.critical_since)) if critical else None,
            "active": True,
            "cleared_at": None,
            "key": _iso(self.at(episode.started_at)),  # stale: the last sample before the gap
        }

    def _create(self, episode: Episode, *, late: bool, closed: bool = False) -> Anomaly | None:
        target = self.target
        definition, sc = target.definition, target.spacecraft
        started = self.at(episode.started_at)
        entry = self.entry(episode)
        anomaly = Anomaly(
            organization_id=sc.organization_id,
            spacecraft=sc,
            parameter=definition,
            parameter_name=definition.name,
            subsystem=definition.subsystem,
            units=definition.units,
            detector=self.kind,
            detectors=[entry],
            mode=sc.mode,
            started_at=started,
            detected_at=self.at(episode.detected_at),
            last_seen_at=self.at(episode.last_seen) or started,
            sample_count=episode.count,
            latching=target.latching,
            is_late=late,
            suppressed_by=target.suppressed_by,
            activations=[[_iso(started), None]],
            context=subsystem_context(definition=definition, at=started),
        )
        summarise(anomaly)
        if episode.cleared_at is not None:
            entry["active"], entry["cleared_at"] = False, _iso(self.at(episode.cleared_at))
            if target.latching and not late:
                anomaly.latched = True
            else:
                anomaly.cleared_at = self.at(episode.cleared_at)
                anomaly.activations[-1][1] = _iso(anomaly.cleared_at)
        if closed:
            if anomaly.cleared_at is None:
                anomaly.cleared_at = anomaly.last_seen_at  # history: it ended where these samples end
                anomaly.activations[-1][1] = _iso(anomaly.cleared_at)
                entry["active"], entry["cleared_at"] = False, _iso(anomaly.cleared_at)
            anomaly.closed_at = self.now
        anomaly.message = anomaly.describe()[:300]
        try:
            with transaction.atomic():
                anomaly.save()
        except IntegrityError:
            # A live alarm the caller's map did not know (another ingest), or this onset recorded.
            alarm = None if closed else Anomaly.objects.live().select_for_update().filter(parameter_id=self.pid).first()
            if alarm is None:
                return None
            existing = entry_of(anomaly=alarm, kind=self.kind)
            if existing and existing["first_at"] == entry["first_at"]:
                return None
            if self.live is not None:
                self.live[self.pid] = alarm
            return self.merge(alarm, episode, late=late)
        self.result.opened += 1
        self.result.anomalies.append(anomaly)
        if self.live is not None and anomaly.closed_at is None:
            self.live[self.pid] = anomaly
        notify.anomaly_changed(anomaly, "anomaly.detected")
        if anomaly.cleared_at is not None and not late:
            notify.anomaly_changed(anomaly, "anomaly.cleared")
        return anomaly

    def merge(self, anomaly: Anomaly, episode: Episode, *, late: bool) -> Anomaly:
        """Join this detector's episode to the parameter's live alarm."""
        entry = entry_of(anomaly=anomaly, kind=self.kind)
        events = []
        fresh = bool(episode.count) or (self.kind == DetectorKind.STALE and not episode.continues)
        if fresh:
            if entry is None:
                entry = self.entry(episode)
                anomaly.detectors.append(entry)
                events.append("anomaly.detector_added")
            else:
                if not entry["active"]:
                    entry["active"], entry["cleared_at"] = True, None
                    if self.kind == DetectorKind.STALE:
                        entry["key"] = _iso(self.at(episode.started_at))
                last = self.at(episode.last_seen)
                if last is not None and _iso(last) > entry["last_at"]:
                    entry["last_at"] = _iso(last)
                if np.isfinite(episode.peak_score) and episode.peak_score > float(entry.get("peak_score") or 0.0):
                    entry["peak_value"], entry["peak_at"] = episode.peak_value, _iso(self.at(episode.peak_at))
                    entry["peak_score"] = float(episode.peak_score)
                    entry["threshold"], entry["threshold_value"] = episode.threshold[:32], episode.threshold_value
            anomaly.sample_count += episode.count
            if anomaly.latched:
                anomaly.latched = False  # the condition is back
            if anomaly.cleared_at is not None:
                start = self.at(episode.first_seen if episode.first_seen is not None else episode.started_at)
                if start is not None and start <= anomaly.cleared_at:
                    # Another detector's episode that began before the alarm cleared: one activation.
                    anomaly.cleared_at = None
                    if anomaly.activations:
                        anomaly.activations[-1][1] = None
                else:
                    events += self._returned(anomaly, episode)
            self._bridge(anomaly, episode)
            if not late and anomaly.is_late:
                anomaly.is_late = False  # the condition goes on in live telemetry: it may page now
        elif entry is None:
            return anomaly
        else:
            if episode.peak_score == episode.peak_score and np.isfinite(episode.peak_score):
                if episode.peak_score > float(entry.get("peak_score") or 0.0):
                    entry["peak_value"], entry["peak_score"] = episode.peak_value, float(episode.peak_score)
            last = self.at(episode.last_seen)
            if last is not None and _iso(last) > entry["last_at"]:
                entry["last_at"] = _iso(last)
        if episode.level >= CRITICAL and entry["severity"] != Severity.CRITICAL:
            entry["severity"] = Severity.CRITICAL
            entry["critical_since"] = _iso(self.at(episode.critical_since) or self.now)
            entry["threshold"], entry["threshold_value"] = episode.threshold[:32], episode.threshold_value
            if anomaly.severity != Severity.CRITICAL:
                events.append("anomaly.severity_raised")
        if episode.cleared_at is not None and entry["active"]:
            entry["active"], entry["cleared_at"] = False, _iso(self.at(episode.cleared_at))
        summarise(anomaly)
        if anomaly.severity == Severity.CRITICAL and anomaly.is_late is False and late is False:
            anomaly.critical_since = anomaly.critical_since or self.now
        if anomaly.cleared_at is None and not any(e["active"] for e in anomaly.detectors):
            ended = max(_time(e["cleared_at"]) or anomaly.last_seen_at for e in anomaly.detectors)
            if anomaly.latching and anomaly.awaits_acknowledgement and not late:
                anomaly.latched = True
            else:
                anomaly.cleared_at, anomaly.latched = ended, False
                if anomaly.activations:
                    anomaly.activations[-1][1] = _iso(ended)
                if not anomaly.awaits_acknowledgement:
                    anomaly.closed_at = self.now
                events.append("anomaly.cleared")
                self.result.cleared += 1
        anomaly.save()
        self.result.updated += 1
        if self.live is not None and anomaly.closed_at is not None:
            self.live.pop(self.pid, None)
        for kind in events:
            if kind == "anomaly.returned" and anomaly.chattering:
                continue  # folded: recorded on the alarm, not announced again
            notify.anomaly_changed(anomaly, kind)
        return anomaly

    def _bridge(self, anomaly: Anomaly, episode: Episode) -> None:
        """An episode older than the alarm's last activation (ingest's limit check records a batch
        before the sweep records the other detectors on the same samples) moves the activation it
        joins back to its onset, and folds activations it bridges within the off-delay, as
        recording in sample order would have."""
        start = self.at(episode.first_seen if episode.first_seen is not None else episode.started_at)
        spans = [[_time(a), _time(b)] for a, b in anomaly.activations]
        if start is None or not spans or start >= spans[-1][0]:
            return
        end = self.at(episode.cleared_at) or self.at(episode.last_seen) or start
        gap = dt.timedelta(seconds=config.off_delay_s())
        merged: list[list] = []
        for a, b in sorted([*spans, [start, end]], key=lambda span: span[0]):
            last = merged[-1] if merged else None
            if last is not None and (last[1] is None or a <= last[1] + gap):
                last[1] = None if last[1] is None or b is None else max(last[1], b)
            else:
                merged.append([a, b])
        if len(merged) <= len(spans):
            anomaly.returns = max(0, anomaly.returns - (len(spans) - len(merged)))
            anomaly.activations = [[_iso(a), _iso(b)] for a, b in merged]
            anomaly.started_at = min(anomaly.started_at, merged[0][0])

    def _returned(self, anomaly: Anomaly, episode: Episode) -> list[str]:
        """The condition is back before anyone acknowledged its end: the same alarm, once more."""
        start = self.at(episode.first_seen if episode.first_seen is not None else episode.started_at) or self.now
        if start - anomaly.cleared_at <= dt.timedelta(seconds=config.off_delay_s()) and anomaly.activations:
            anomaly.cleared_at = None
            anomaly.activations[-1][1] = None  # within the off-delay: the same activation goes on
            return []
        anomaly.cleared_at = None
        anomaly.returns += 1
        anomaly.activations = [*anomaly.activations, [_iso(start), None]][-MAX_ACTIVATIONS:]
        window = dt.timedelta(seconds=config.chatter_window_s())
        recent = [a for a in anomaly.activations if _time(a[0]) >= start - window]
        if len(recent) > config.chatter_count() and not anomaly.chattering:
            anomaly.chattering = True
            return ["anomaly.chattering"]
        return ["anomaly.returned"]


def subsystem_context(*, definition: ParameterDefinition, at: dt.datetime | None) -> dict:
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
