"""Detection quality and speed of the anomaly detectors.

Quality: the telemetry simulator (telemetry/simulator.py) generates the four demo profiles at 1 Hz
with injected faults of one kind at a time (spike, drift, stuck value, dropout, noise burst), plus
fault-free days. The detectors run exactly as `analyze` runs them (anomalies.detection.find_episodes,
per-profile defaults). A fault counts as detected when an episode on its parameter overlaps
[start, end + grace]; an episode is a true positive when it overlaps some fault that way.

Speed: the vectorised detector set against a per-sample Python loop doing the same checks (the
peer), per core; then a whole sweep including the binary COPY read from PostgreSQL, and the cost of
the inline limit check in ingest (ingest with the hook vs without, same batches).

    .venv/bin/python bench/anomaly_eval.py                      # the figures in README
    .venv/bin/python bench/anomaly_eval.py --hours 2 --clean-days 0.5 --no-db   # quicker

Uses DATABASE_URL for the sweep part (a throwaway organization "bench-anomalies", data in 2001-03,
whose partitions are dropped afterwards).
"""

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
import types
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionops.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from anomalies.config import build_detectors  # noqa: E402
from anomalies.detection import find_episodes  # noqa: E402
from spacecraft.profiles import NOMINAL, PROFILES  # noqa: E402
from telemetry.models import FaultKind  # noqa: E402
from telemetry.simulator import SpacecraftSimulator  # noqa: E402

START = dt.datetime(2001, 3, 1, tzinfo=dt.UTC)
GRACE_S = 30.0
FAULT_EVERY_S = 360  # one fault per spacecraft every ~6 minutes


def simulate(profile: str, seconds: int, *, kind: str | None, seed: int):
    """{parameter: (t seconds, values)}, all snapshot times, and the injected faults."""
    sim = SpacecraftSimulator(types.SimpleNamespace(pk=profile), PROFILES[profile], seed=seed)
    rng = random.Random(seed)
    series = defaultdict(lambda: ([], []))
    faults = []
    next_fault = rng.uniform(60, FAULT_EVERY_S) if kind else math.inf
    for second in range(seconds):
        moment = START + dt.timedelta(seconds=second)
        if second >= next_fault and not sim.faults:
            fault = sim.inject(moment=moment, kind=FaultKind(kind))
            faults.append(
                (
                    fault.parameter,
                    fault.kind,
                    (fault.started_at - START).total_seconds(),
                    (fault.ended_at - START).total_seconds(),
                )
            )
            next_fault = second + rng.uniform(0.5, 1.5) * FAULT_EVERY_S
        for name, value in sim.snapshot(moment)["parameters"].items():
            if isinstance(value, bool | str):
                continue
            t, x = series[name]
            t.append(float(second))
            x.append(float(value))
    out = {name: (np.array(t), np.array(x)) for name, (t, x) in series.items()}
    return out, np.arange(seconds, dtype=float), faults


def contradictory(profile: str) -> list[str]:
    """Parameters whose simulated nominal value lies outside their own warning limits (the
    simulator models bus_voltage at 28.2 V for every profile): permanently in violation, so they
    say nothing about detection quality and are left out (listed in the output)."""
    out = []
    for name, spec in PROFILES[profile].items():
        mean = NOMINAL.get(name, (None,))[0]
        low, high = spec.get("warn_low"), spec.get("warn_high")
        if mean is not None and ((low is not None and mean < low) or (high is not None and mean > high)):
            out.append(name)
    return out


def detect(profile: str, series: dict, alive: np.ndarray, now: float):
    episodes = []
    skip = set(contradictory(profile))
    for name, (t, x) in series.items():
        if name in skip:
            continue
        detectors = build_detectors(PROFILES[profile][name], mission_type=profile, mode="nominal")
        for kind, episode in find_episodes(detectors, t, x, alive=alive, now=now):
            end = episode.cleared_at if episode.cleared_at is not None else episode.last_seen
            episodes.append((name, kind, episode.started_at, max(end, episode.detected_at), episode.detected_at))
    return episodes


def overlaps(a0, a1, b0, b1) -> bool:
    return a0 <= b1 and b0 <= a1


def score(faults, episodes):
    """(detected faults, delays, true-positive episodes, per-detector counts)."""
    detected, delays = 0, []
    per_detector = defaultdict(lambda: {"episodes": 0, "tp": 0, "hits": 0})
    by_param = defaultdict(list)
    for e in episodes:
        by_param[e[0]].append(e)
        per_detector[e[1]]["episodes"] += 1
    tp = 0
    for e in episodes:
        if any(f[0] == e[0] and overlaps(e[2], e[3], f[2], f[3] + GRACE_S) for f in faults):
            tp += 1
            per_detector[e[1]]["tp"] += 1
    for parameter, _, start, end in faults:
        hits = [e for e in by_param[parameter] if overlaps(e[2], e[3], start, end + GRACE_S)]
        if hits:
            detected += 1
            delays.append(max(0.0, min(e[4] for e in hits) - start))
            for kind in {e[1] for e in hits}:
                per_detector[kind]["hits"] += 1
    return detected, delays, tp, per_detector


def quality(hours: float, clean_days: float, seed: int) -> None:
    profiles = list(PROFILES)
    seconds = int(hours * 3600)
    print(f"\nDetection quality: {len(profiles)} profiles × {hours:g} h at 1 Hz per fault kind, grace {GRACE_S:g} s")
    left_out = [f"{p}/{n}" for p in profiles for n in contradictory(p)]
    print(f"left out (simulated nominal outside the parameter's own limits): {', '.join(left_out) or 'none'}")
    head = f"{'fault':<12} {'faults':>6} {'found':>6} {'episodes':>8} {'precision':>9} {'recall':>7} {'F1':>6}"
    print(f"{head} {'median delay s':>14}")
    detector_rows = defaultdict(dict)
    for kind in FaultKind.values:
        faults_n = found = episodes_n = tp = 0
        delays = []
        for i, profile in enumerate(profiles):
            series, alive, faults = simulate(profile, seconds, kind=kind, seed=seed + i)
            faults = [f for f in faults if f[0] not in contradictory(profile)]
            episodes = detect(profile, series, alive, now=float(seconds))
            d, dl, t, per = score(faults, episodes)
            faults_n, found, episodes_n, tp = faults_n + len(faults), found + d, episodes_n + len(episodes), tp + t
            delays += dl
            for det, counts in per.items():
                row = detector_rows[kind].setdefault(det, {"episodes": 0, "tp": 0, "hits": 0, "faults": 0})
                for key in ("episodes", "tp", "hits"):
                    row[key] += counts[key]
            for row in detector_rows[kind].values():
                row["faults"] = faults_n
        precision = tp / episodes_n if episodes_n else 1.0
        recall = found / faults_n if faults_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        delay = statistics.median(delays) if delays else float("nan")
        row = f"{kind:<12} {faults_n:>6} {found:>6} {episodes_n:>8} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f}"
        print(f"{row} {delay:>14.1f}")

    print("\nPer detector (episodes it opened, share of them on a fault, share of faults it caught):")
    kinds = FaultKind.values
    print(f"{'detector':<10} " + " ".join(f"{k[:11]:>17}" for k in kinds))
    detectors = sorted({d for rows in detector_rows.values() for d in rows})
    for det in detectors:
        cells = []
        for kind in kinds:
            row = detector_rows[kind].get(det)
            if not row or not row["episodes"]:
                cells.append(f"{'-':>17}")
                continue
            cells.append(
                f"{row['episodes']:>5} p{row['tp'] / row['episodes']:.2f} r{row['hits'] / max(1, row['faults']):.2f}"
            )
        print(f"{det:<10} " + " ".join(cells))

    if clean_days <= 0:
        return
    print(f"\nFalse alarms on fault-free data: {len(profiles)} spacecraft × {clean_days:g} days at 1 Hz")
    total, by_detector = 0, defaultdict(int)
    clean_seconds = int(clean_days * 86400)
    for i, profile in enumerate(profiles):
        series, alive, _ = simulate(profile, clean_seconds, kind=None, seed=seed + 100 + i)
        episodes = detect(profile, series, alive, now=float(clean_seconds))
        total += len(episodes)
        for e in episodes:
            by_detector[e[1]] += 1
    sc_days = len(profiles) * clean_days
    detail = ", ".join(f"{k} {v}" for k, v in sorted(by_detector.items())) or "none"
    print(f"episodes: {total} ({detail}) = {total / sc_days:.2f} false alarms per spacecraft-day")


# --- speed ---------------------------------------------------------------------------------------


class PythonPeer:
    """The same checks one sample at a time: limits with deadband, rate, stuck value, rolling
    z-score (running sums), IQR fences of the previous block, EWMA against a lagged baseline."""

    def __init__(self, d):
        self.d = d

    def run(self, t, x):
        d = self.d
        lim, rate, flat, z, iqr, ew = d["limit"], d["rate"], d["flatline"], d["zscore"], d["iqr"], d["ewma"]
        wl, wh, cl, ch = lim.limits
        band = lim.deadband
        flags = [0] * len(x)
        in_high = in_low = False
        prev_t = prev_x = None
        run = 0
        zw, s1, s2 = z.window, 0.0, 0.0
        ew_w, ew_lag, lam = ew.window, ew.lag, ew.lam
        e1 = e2 = 0.0
        s = 0.0
        block, fence = iqr.block, None
        for i, (ti, xi) in enumerate(zip(t, x, strict=True)):
            level = 0
            if wh is not None:
                in_high = xi > wh or (in_high and xi > wh - band)
            if wl is not None:
                in_low = xi < wl or (in_low and xi < wl + band)
            if in_high or in_low:
                level = 1
            if prev_t is not None and ti > prev_t and abs((xi - prev_x) / (ti - prev_t)) > rate.max_per_s:
                level = max(level, 1)
            run = run + 1 if xi == prev_x else 1
            if run >= flat.min_samples:
                level = max(level, 1)
            if i >= zw:
                mean = s1 / zw
                std = math.sqrt(max(s2 / zw - mean * mean, 0.0))
                if abs(xi - mean) / max(std, 1e-9) > z.warn:
                    level = max(level, 1)
                old = x[i - zw]
                s1 -= old
                s2 -= old * old
            s1 += xi
            s2 += xi * xi
            if i % block == 0 and i >= block:
                ref = sorted(x[i - block : i])
                q1, q3 = ref[block // 4], ref[(3 * block) // 4]
                fence = (q1, q3, max(q3 - q1, 1e-9))
            if fence and max(fence[0] - xi, xi - fence[1]) / fence[2] > iqr.warn_k:
                level = max(level, 1)
            j = i - ew_lag
            if j - ew_w >= 0:
                mean = e1 / ew_w
                std = math.sqrt(max(e2 / ew_w - mean * mean, 0.0))
                r = max(-50.0, min(50.0, (xi - mean) / max(std, 1e-9)))
                s = (1 - lam) * s + lam * r
                if abs(s) / ew.sigma > ew.warn_l:
                    level = max(level, 1)
                old = x[j - ew_w]
                e1 -= old
                e2 -= old * old
            if j >= 0:
                e1 += x[j]
                e2 += x[j] * x[j]
            flags[i] = level
            prev_t, prev_x = ti, xi
        return flags


def speed(samples: int) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(samples, dtype=float)
    x = 28.2 + 0.08 * rng.standard_normal(samples)
    spec = PROFILES["LEO_IMAGING"]["bus_voltage"]
    detectors = build_detectors(spec, mission_type="LEO_IMAGING", mode="nominal")
    detectors.pop("stale")
    find_episodes(detectors, t[:5000], x[:5000])  # warm up
    started = time.perf_counter()
    find_episodes(detectors, t, x)
    vector_s = time.perf_counter() - started
    peer_n = min(samples, 200_000)
    started = time.perf_counter()
    PythonPeer(detectors).run(t[:peer_n].tolist(), x[:peer_n].tolist())
    peer_s = (time.perf_counter() - started) * samples / peer_n
    print(f"\nDetector evaluation, one core, {len(detectors)} detectors per sample ({', '.join(detectors)}):")
    print(f"{'method':<52} {'samples':>10} {'seconds':>8} {'samples/s':>12} {'x peer':>7}")
    rows = [
        ("numpy detectors + episode tracking (MissionOps)", vector_s, peer_s / vector_s),
        ("per-sample Python loop, same checks (peer)", peer_s, 1.0),
    ]
    for name, secs, ratio in rows:
        print(f"{name:<52} {samples:>10,} {secs:>8.3f} {samples / secs:>12,.0f} {ratio:>7.1f}")


def sweep_speed(hours: float) -> None:
    from django.conf import settings
    from django.db import connection

    from anomalies import detection
    from missionops.models import Organization
    from missionops.services import create_organization
    from spacecraft.models import Spacecraft
    from spacecraft.services import create_spacecraft
    from telemetry import archive, services

    org = Organization.objects.filter(slug="bench-anomalies").first() or create_organization(
        name="Bench anomalies", slug="bench-anomalies"
    )
    fleet = []
    for n, profile in enumerate(PROFILES):
        sc = org.spacecraft.filter(designation=f"BENCH-A{n}").first() or create_spacecraft(
            organization=org,
            designation=f"BENCH-A{n}",
            name=f"Bench {profile}",
            mission_type=profile,
            parameters=PROFILES[profile],
        )
        fleet.append(sc)
    sims = [SpacecraftSimulator(sc, PROFILES[sc.mission_type], seed=i) for i, sc in enumerate(fleet)]
    seconds = int(hours * 3600)
    scope = services.organization_scope(org)
    # Only parameters whose simulated nominal lies inside their limits (see `contradictory`).
    for sim in sims:
        for name in contradictory(sim.spacecraft.mission_type):
            sim.parameters = {k: v for k, v in sim.parameters.items() if k != name}
    batches = []
    for start in range(0, seconds, 250):
        batches.append(
            [
                sim.snapshot(START + dt.timedelta(seconds=s))
                for s in range(start, min(seconds, start + 250))
                for sim in sims
            ]
        )
    # Ingest the same batches into four day ranges, alternating with the inline limit hook and with
    # it replaced by a no-op; the best of two runs each (the machine is shared).
    timings = defaultdict(list)
    original = services.check_limits
    for shift, label in enumerate(["with inline limit check", "without (hook replaced by a no-op)"] * 2):
        services.check_limits = original if label.startswith("with ") else (lambda **kw: None)
        shifted = [
            [
                dict(s, timestamp=(dt.datetime.fromisoformat(s["timestamp"]) + dt.timedelta(days=shift)).isoformat())
                for s in b
            ]
            for b in batches
        ]
        started = time.perf_counter()
        stored = sum(services.ingest(snapshots=batch, scope=scope).stored for batch in shifted)
        timings[label].append((stored, time.perf_counter() - started))
    services.check_limits = original
    print(f"\nIngest of {len(batches)} batches of {len(batches[0])} snapshots (inline hook cost, best of 2):")
    for label, runs in timings.items():
        stored, secs = min(runs, key=lambda r: r[1])
        print(f"  {label:<40} {stored:>9,} samples {secs:>7.2f} s {stored / secs:>10,.0f} samples/s")

    settings.ANOMALY_SWEEP_LOOKBACK_S = seconds + 600
    settings.ANOMALY_SWEEP_HISTORY_S = 600
    from anomalies.models import DetectorCursor

    DetectorCursor.objects.filter(parameter__spacecraft__in=fleet).delete()
    now = START + dt.timedelta(seconds=seconds + 10)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM telemetry_sample s JOIN telemetry_parameterdefinition d ON d.id = s.parameter_id "
            "WHERE d.spacecraft_id = ANY(%s) AND s.time >= %s AND s.time < %s",
            [[sc.pk for sc in fleet], START, now],
        )
        rows = cursor.fetchone()[0]
    started = time.perf_counter()
    if os.environ.get("PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    result = detection.sweep(spacecraft=Spacecraft.objects.filter(pk__in=[sc.pk for sc in fleet]), now=now)
    elapsed = time.perf_counter() - started
    if os.environ.get("PROFILE"):
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    print(f"\nWhole sweep over {hours:g} h of {len(fleet)} spacecraft (COPY read + detectors + episodes + cursors):")
    print(
        f"  {rows:,} samples read, {result.opened} episodes opened, {elapsed:.2f} s = {rows / elapsed:,.0f} samples/s"
    )
    # Clean up: the organization's spacecraft and the bench day partitions.
    Spacecraft.objects.filter(organization=org).delete()
    for day in [(START + dt.timedelta(days=n)).date() for n in range(5)]:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {archive.partition_name(day)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=6.0, help="hours per profile per fault kind (default 6)")
    parser.add_argument("--clean-days", type=float, default=1.0, help="fault-free days per profile (default 1)")
    parser.add_argument("--samples", type=int, default=2_000_000, help="samples for the evaluation speed test")
    parser.add_argument("--sweep-hours", type=float, default=2.0, help="hours of telemetry for the sweep test")
    parser.add_argument("--no-db", action="store_true", help="skip the PostgreSQL sweep and ingest parts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    quality(args.hours, args.clean_days, args.seed)
    speed(args.samples)
    if not args.no_db:
        sweep_speed(args.sweep_hours)


if __name__ == "__main__":
    main()
