"""Inline limit checks: run in ingest's transaction (the receiver of telemetry's samples_stored),
vectorised over the batch; they also record the batch's Arrival rows for the sweeps."""

import numpy as np
from django.db import connection
from django.utils import timezone

from missionops.prepared import prepared
from telemetry import archive

from .. import config, reading
from ..detector_base import Detector
from ..models import DetectorCursor, DetectorKind
from .detector_runs import US, apply_detector, claim_cursors, current_specs_of, record_behind_cursor
from .recording import DetectionResult, Target


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
    targets = _targets_with_limits(spacecraft, params)
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
    cursors = claim_cursors(pids=sorted(todo), kinds=[DetectorKind.LIMIT], skip_locked=False)
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
            record_behind_cursor(
                target=targets[pid], detector=detectors[pid], t_us=t_us, x=x, behind=behind, now=now, result=result
            )
        # Played-back samples are the sweep's (in sample order, with the other detectors).
        if ahead.any():
            apply_detector(
                cursor=cursor,
                target=targets[pid],
                detector=detectors[pid],
                t_us=t_us[ahead],
                x=x[ahead],
                now=now,
                result=result,
                carry=True,
            )
            cursor.save(update_fields=["evaluated_until", "state", "active", "updated_at"])
        result.parameters += 1
    return result


def _targets_with_limits(spacecraft: dict, params: dict) -> dict[int, Target]:
    """{parameter id: Target} of the batch's parameters whose current spec sets a limit."""
    specs = current_specs_of(spacecraft)
    targets: dict[int, Target] = {}
    for sc_pk, known in params.items():
        sc_specs = specs.get(sc_pk, {})
        for name, p in known.items():
            spec = sc_specs.get(name)
            if spec and any(spec.get(k) is not None for k in ("warn_low", "warn_high", "crit_low", "crit_high")):
                targets[p.id] = Target(definition=p.definition, spacecraft=spacecraft[sc_pk], spec=spec)
    return targets


def record_arrivals(*, pids, times, checked, arrived_at) -> None:
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
    with prepared(), connection.cursor() as cursor:  # planned once per connection: ~0.1 ms a batch
        cursor.execute(
            "INSERT INTO anomalies_arrival (parameter_id, first_time, last_time, arrived_at, limits_checked) "
            "SELECT u.pid, %s::timestamptz + u.first_us * interval '1 microsecond', "
            "%s::timestamptz + u.last_us * interval '1 microsecond', %s, u.checked "
            "FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::boolean[]) "
            "AS u(pid, first_us, last_us, checked)",
            [
                archive.PG_EPOCH,
                archive.PG_EPOCH,
                arrived_at,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ],
        )
