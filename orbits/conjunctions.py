"""Conjunction screening: close approaches between primaries (our spacecraft) and a catalogue.

1. Apogee/perigee filter: a pair whose radial shells stay further apart than the threshold
   plus a margin (`SHELL_MARGIN_KM`, for drag and short-periodic terms) cannot meet.
2. Coarse scan: primaries and secondaries are sampled every `step_s` in TEME (SatrecArray,
   blocks of times). Squared distances of every primary to every secondary come from one
   batched matrix product per block; a sample closer than the sieve radius (threshold + the
   farthest two objects can close in half a step + the curvature margin) is a candidate.
3. Per candidate sample: the closest approach of the linearised relative motion within half a
   step either side; kept when it is within the threshold plus the curvature bound of the
   straight-line model (`_curvature_km`).
4. TCA refinement on SGP4 itself: Newton on d·w (d, w: relative position and velocity), whose
   root is the closest approach, to `TCA_TOLERANCE_S`; duplicates (one encounter seen from two
   samples) are merged; the miss distance is then exact SGP4, with its radial / in-track /
   cross-track components in the primary's RIC frame and the relative speed.

The SGP4 core holds the GIL: large screens split the secondaries across processes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sgp4.api import Satrec

from . import propagation as prop

MU_KM3_S2 = 398600.8  # WGS72, what SGP4 uses
SHELL_MARGIN_KM = 50.0
MAX_RELATIVE_SPEED_KM_S = 22.0  # twice the escape speed near the ground: no two orbits close faster
TIDAL_KM_S2_PER_KM = 4.5e-6  # |relative acceleration| per km of separation: 3 μ / r³ at 6,500 km
TCA_TOLERANCE_S = 1e-3
BLOCK_STEPS = 64
PARALLEL_MIN_WORK = 2_000_000  # secondaries × steps below which one process is faster


@dataclass
class Approach:
    primary: int  # index into the primaries given
    secondary: int  # index into the secondaries given
    tca: datetime
    miss_distance_km: float
    radial_km: float
    in_track_km: float
    cross_track_km: float
    relative_speed_km_s: float


def shell_km(satrec: Satrec) -> tuple[float, float]:
    """(perigee, apogee) radii in km from the mean elements."""
    a = satrec.a * satrec.radiusearthkm
    return a * (1 - satrec.ecco), a * (1 + satrec.ecco)


def shell_filter(primaries: list[Satrec], secondaries: list[Satrec], threshold_km: float) -> np.ndarray:
    """(n_p, n_s) bool: pairs whose perigee-apogee shells come within threshold + margin."""
    p = np.array([shell_km(s) for s in primaries]).reshape(-1, 2)
    s = np.array([shell_km(x) for x in secondaries]).reshape(-1, 2)
    gap = np.maximum(p[:, None, 0], s[None, :, 0]) - np.minimum(p[:, None, 1], s[None, :, 1])
    return gap <= threshold_km + SHELL_MARGIN_KM


def _curvature_km(distance_km, tau_s):
    """How far the true relative motion may leave the straight line over tau_s from a sample
    where the objects are distance_km apart (half the tidal acceleration times tau²), plus the
    relative speed change from the Earth's pull (bounded by the same rate)."""
    return 0.5 * TIDAL_KM_S2_PER_KM * (distance_km + MAX_RELATIVE_SPEED_KM_S * np.abs(tau_s)) * tau_s**2 + 0.05


def _states(satrecs, jd, fr):
    r = np.empty((len(satrecs), len(jd), 3))
    v = np.empty_like(r)
    errors = np.empty((len(satrecs), len(jd)), dtype=np.uint8)
    start = 0
    for block in prop.satrec_blocks(satrecs):
        e, rb, vb = block.sgp4(jd, fr)
        rows = slice(start, start + len(e))
        r[rows], v[rows], errors[rows] = rb, vb, e
        start += len(e)
    return r, v, errors


def coarse_candidates(
    primaries: list[Satrec],
    secondaries: list[Satrec],
    pairs: np.ndarray,
    jd0: float,
    fr0: float,
    duration_s: float,
    *,
    threshold_km: float,
    step_s: float,
) -> np.ndarray:
    """Candidate (primary, secondary, t seconds from jd0 + fr0, first guess of TCA) rows from
    the coarse scan (steps 2 and 3 of the module)."""
    wanted = np.flatnonzero(pairs.any(axis=0))
    if not len(wanted) or not len(primaries):
        return np.empty((0, 3))
    subset = [secondaries[i] for i in wanted]
    mask = pairs[:, wanted]
    half = step_s / 2
    sieve = threshold_km + MAX_RELATIVE_SPEED_KM_S * half + _curvature_km(MAX_RELATIVE_SPEED_KM_S * half, half)
    t = np.arange(0.0, duration_s + step_s, step_s)
    t[-1] = min(t[-1], duration_s)
    found = []
    for first in range(0, len(t), BLOCK_STEPS):
        tb = t[first : first + BLOCK_STEPS]
        jd, fr = np.full(len(tb), jd0), fr0 + tb / 86400.0
        rp, vp, ep = _states(primaries, jd, fr)
        rs, vs, es = _states(subset, jd, fr)
        rp[ep != 0] = np.nan
        rs[es != 0] = np.nan
        # |rs - rp|² for every (time, primary, secondary), one batched product per block.
        cross = np.matmul(rp.transpose(1, 0, 2), rs.transpose(1, 2, 0))  # (n_t, n_p, n_s)
        dist2 = np.einsum("ptk,ptk->tp", rp, rp)[:, :, None] - 2 * cross
        dist2 += np.einsum("stk,stk->ts", rs, rs)[:, None, :]
        k, i, j = np.nonzero((dist2 < sieve * sieve) & mask[None])
        if not len(k):
            continue
        d = rs[j, k] - rp[i, k]
        w = vs[j, k] - vp[i, k]
        w2 = np.einsum("ij,ij->i", w, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.clip(-np.einsum("ij,ij->i", d, w) / w2, -half, half)
        tau = np.nan_to_num(tau)
        closest = np.linalg.norm(d + w * tau[:, None], axis=1)
        distance = np.sqrt(np.maximum(dist2[k, i, j], 0))
        keep = closest < threshold_km + _curvature_km(distance, tau)
        found.append(np.stack([i[keep], wanted[j[keep]], tb[k[keep]] + tau[keep]], axis=1))
    return np.concatenate(found) if found else np.empty((0, 3))


def _relative(primary: Satrec, secondary: Satrec, jd0: float, fr0: float, t: np.ndarray):
    jd, fr = np.full(len(t), jd0), fr0 + t / 86400.0
    ep, rp, vp = primary.sgp4_array(jd, fr)
    es, rs, vs = secondary.sgp4_array(jd, fr)
    bad = (ep != 0) | (es != 0)
    return rp, vp, rs - rp, vs - vp, bad


def refine(primary: Satrec, secondary: Satrec, jd0: float, fr0: float, guesses: np.ndarray, lo: float, hi: float):
    """TCAs (s) from first guesses: Newton on d·w = 0 with slope |w|² + d·(a_s - a_p) (the
    accelerations by two-body gravity), kept in [lo, hi]."""
    t = np.clip(guesses.astype(float), lo, hi)
    for _ in range(12):
        rp, _, d, w, bad = _relative(primary, secondary, jd0, fr0, t)
        rs = rp + d
        ap = -MU_KM3_S2 * rp / np.linalg.norm(rp, axis=1, keepdims=True) ** 3
        as_ = -MU_KM3_S2 * rs / np.linalg.norm(rs, axis=1, keepdims=True) ** 3
        f = np.einsum("ij,ij->i", d, w)
        slope = np.einsum("ij,ij->i", w, w) + np.einsum("ij,ij->i", d, as_ - ap)
        step = np.where(bad | (slope <= 0), 0.0, f / np.where(slope == 0, 1, slope))
        t = np.clip(t - step, lo, hi)
        if np.all(np.abs(step) < TCA_TOLERANCE_S):
            break
    return t


def screen(
    primary_lines: list[tuple[str, str]],
    secondary_lines: list[tuple[str, str]],
    start: datetime,
    end: datetime,
    *,
    threshold_km: float = 5.0,
    step_s: float = 180.0,
    processes: int = 1,
) -> list[Approach]:
    """Every approach closer than `threshold_km` between a primary and a secondary (TLE line
    pairs) in [start, end], one per encounter, in TCA order."""
    primaries = [prop.satrec_from_lines(a, b) for a, b in primary_lines]
    secondaries = [prop.satrec_from_lines(a, b) for a, b in secondary_lines]
    duration = (end - start).total_seconds()
    jd0, fr0 = (float(a[0]) for a in prop.julian([start]))
    if not primaries or not secondaries:
        return []
    pairs = shell_filter(primaries, secondaries, threshold_km)
    work = pairs.any(axis=0).sum() * duration / step_s
    if processes <= 1 or work < PARALLEL_MIN_WORK:
        candidates = coarse_candidates(
            primaries, secondaries, pairs, jd0, fr0, duration, threshold_km=threshold_km, step_s=step_s
        )
    else:
        candidates = _scan_parallel(
            primary_lines, secondary_lines, primaries, secondaries, pairs, jd0, fr0, duration, threshold_km, step_s,
            processes,
        )  # fmt: skip
    approaches: list[Approach] = []
    if not len(candidates):
        return approaches
    order = np.lexsort((candidates[:, 2], candidates[:, 1], candidates[:, 0]))
    candidates = candidates[order]
    pair_key = candidates[:, 0] * len(secondaries) + candidates[:, 1]
    for key in np.unique(pair_key):
        rows = candidates[pair_key == key]
        i, j = int(rows[0, 0]), int(rows[0, 1])
        tca = refine(primaries[i], secondaries[j], jd0, fr0, rows[:, 2], 0.0, duration)
        tca = np.unique(np.round(tca, 3))
        rp, vp, d, w, bad = _relative(primaries[i], secondaries[j], jd0, fr0, tca)
        miss = np.linalg.norm(d, axis=1)
        kept: list[float] = []
        for n in np.flatnonzero(~bad & (miss < threshold_km)):
            if any(abs(other - tca[n]) < 1.0 for other in kept):
                continue  # one encounter found from two samples
            kept.append(float(tca[n]))
            radial = rp[n] / np.linalg.norm(rp[n])
            normal = np.cross(rp[n], vp[n])
            normal /= np.linalg.norm(normal)
            along = np.cross(normal, radial)
            approaches.append(
                Approach(
                    i,
                    j,
                    start + timedelta(seconds=float(tca[n])),
                    float(miss[n]),
                    float(d[n] @ radial),
                    float(d[n] @ along),
                    float(d[n] @ normal),
                    float(np.linalg.norm(w[n])),
                )  # fmt: skip
            )
    return sorted(approaches, key=lambda a: a.tca)


def _scan_lines(primary_lines, secondary_lines, pairs, jd0, fr0, duration, threshold_km, step_s):
    primaries = [prop.satrec_from_lines(a, b) for a, b in primary_lines]
    secondaries = [prop.satrec_from_lines(a, b) for a, b in secondary_lines]
    return coarse_candidates(
        primaries, secondaries, pairs, jd0, fr0, duration, threshold_km=threshold_km, step_s=step_s
    )


def _scan_parallel(
    primary_lines, secondary_lines, primaries, secondaries, pairs, jd0, fr0, duration, threshold_km, step_s, processes
):
    """The coarse scan with the wanted secondaries dealt across `processes` (this one does the
    first share while pool workers do the others)."""
    wanted = np.flatnonzero(pairs.any(axis=0))
    shares = [wanted[p::processes] for p in range(processes)]
    pool = prop.get_pool(processes - 1)
    futures = [
        pool.submit(
            _scan_lines,
            primary_lines,
            [secondary_lines[j] for j in share],
            pairs[:, share],
            jd0,
            fr0,
            duration,
            threshold_km,
            step_s,
        )  # fmt: skip
        for share in shares[1:]
    ]
    mine = coarse_candidates(
        primaries, [secondaries[j] for j in shares[0]], pairs[:, shares[0]], jd0, fr0, duration,
        threshold_km=threshold_km, step_s=step_s,
    )  # fmt: skip
    out = []
    for share, found in zip(shares, [mine] + [f.result() for f in futures], strict=True):
        if len(found):
            found[:, 1] = share[found[:, 1].astype(int)]
            out.append(found)
    return np.concatenate(out) if out else np.empty((0, 3))
