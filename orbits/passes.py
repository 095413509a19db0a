"""Pass prediction for many spacecraft over many stations at once.

1. A coarse grid (60 s) of Earth-fixed positions for every spacecraft (one SatrecArray call per
   block) and, per station, the sine of the elevation for every spacecraft at every step.
2. Sign changes of sin(el) - sin(min el) bracket AOS and LOS; grid maxima bracket TCA, and grid
   maxima just below the threshold are refined too, so a grazing pass shorter than a step is
   still found.
3. All brackets are refined together, vectorized (Illinois regula falsi): AOS/LOS to 0.01 s on
   sin(el), TCA on d sin(el)/dt (smooth through the zenith, unlike the elevation itself).
4. A pass in progress at the window's start (or end) is followed backwards (forwards) up to
   `lookaround_s` to report its true AOS (LOS); a spacecraft that never sets (GEO) gives one
   `continuous` pass bounded by that search.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sgp4.api import Satrec

from . import propagation as prop

STEP_S = 60.0
ROOT_TOLERANCE_S = 0.01
GRAZING_MARGIN = 0.1  # in sin(elevation): grid maxima this close below the threshold are refined
LOOKAROUND_S = 12 * 3600.0
SHORT_LOOKAROUND_S = 1800.0


@dataclass(frozen=True)
class Station:
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    min_elevation_deg: float


@dataclass
class PassWindow:
    satellite: int  # index into the satrecs given
    station: int  # index into the stations given
    aos: datetime
    los: datetime
    tca: datetime
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    continuous: bool = False

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


class _Geometry:
    """Evaluates sin(elevation) - sin(min elevation), its time derivative and the azimuth for
    arbitrary (satellite, station, t) triples, t in seconds from `start`."""

    def __init__(self, satrecs: list[Satrec], stations: list[Station], start: datetime):
        self.satrecs = satrecs
        self.jd0, self.fr0 = (float(a[0]) for a in prop.julian([start]))
        lat = np.array([s.latitude_deg for s in stations], dtype=float)
        lon = np.array([s.longitude_deg for s in stations], dtype=float)
        alt = np.array([s.altitude_m for s in stations], dtype=float) / 1000
        self.site = prop.geodetic_to_ecef(lat, lon, alt)  # (n_sta, 3)
        phi, lam = np.deg2rad(lat), np.deg2rad(lon)
        self.up = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
        self.east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
        self.north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], axis=-1)
        self.threshold = np.sin(np.deg2rad([s.min_elevation_deg for s in stations]))

    def times(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full(t.shape, self.jd0), self.fr0 + t / 86400.0

    def grid(self, t: np.ndarray, satellites=None) -> np.ndarray:
        """Earth-fixed positions (n_sat, n_t, 3) at grid times t for all (or some) satellites."""
        satrecs = self.satrecs if satellites is None else [self.satrecs[i] for i in satellites]
        jd, fr = self.times(t)
        theta = prop.gmst_rad(jd, fr)
        out = np.empty((len(satrecs), len(t), 3))
        for start, block in zip(
            range(0, len(satrecs), prop.BLOCK_SATELLITES), prop.satrec_blocks(satrecs), strict=True
        ):
            _, r, _ = block.sgp4(jd, fr)
            out[start : start + len(r)] = prop.teme_to_ecef(r, theta)
        return out

    def sin_elevation(self, r_ecef: np.ndarray, station: int, r2: np.ndarray | None = None) -> np.ndarray:
        """sin(elevation) over a grid; |d|^2 expanded so no (n, t, 3) temporary is made.
        `r2`: the squared norms of r_ecef, shared across stations."""
        site, up = self.site[station], self.up[station]
        if r2 is None:
            r2 = np.einsum("...k,...k->...", r_ecef, r_ecef)
        dist2 = r_ecef @ (-2.0 * site)
        dist2 += r2
        dist2 += site @ site
        np.sqrt(dist2, out=dist2)
        out = r_ecef @ up
        out -= site @ up
        out /= dist2
        return out

    def evaluate(self, sat: np.ndarray, sta: np.ndarray, t: np.ndarray):
        """(f, df/dt, azimuth deg, sin el) for each triple; NaN where SGP4 fails."""
        n = len(t)
        r = np.empty((n, 3))
        v = np.empty((n, 3))
        order = np.argsort(sat, kind="stable")
        sorted_sat = sat[order]
        bounds = np.flatnonzero(np.diff(sorted_sat)) + 1
        for chunk in np.split(order, bounds):
            if not len(chunk):
                continue
            jd, fr = self.times(t[chunk])
            error, rc, vc = self.satrecs[sat[chunk[0]]].sgp4_array(jd, fr)
            rc[error != 0] = np.nan
            r[chunk], v[chunk] = rc, vc
        jd, fr = self.times(t)
        theta = prop.gmst_rad(jd, fr)
        r_e = prop.teme_to_ecef(r[:, None, :], theta[:, None])[:, 0]
        v_e = prop.ecef_velocity(r_e[:, None, :], v[:, None, :], theta[:, None])[:, 0]
        d = r_e - self.site[sta]
        up = self.up[sta]
        dist = np.linalg.norm(d, axis=-1)
        d_up = np.einsum("ij,ij->i", d, up)
        sin_el = d_up / dist
        rate = np.einsum("ij,ij->i", v_e, up) / dist - d_up * np.einsum("ij,ij->i", d, v_e) / dist**3
        azimuth = np.rad2deg(
            np.arctan2(np.einsum("ij,ij->i", d, self.east[sta]), np.einsum("ij,ij->i", d, self.north[sta]))
        )
        return sin_el - self.threshold[sta], rate, np.mod(azimuth, 360.0), sin_el


def _refine(geometry: _Geometry, sat, sta, a, b, fa, fb, *, derivative: bool) -> np.ndarray:
    """Roots of f (or of df/dt) bracketed by [a, b] (fa, fb of opposite signs), Illinois method,
    all brackets at once; each root to ROOT_TOLERANCE_S."""
    a, b, fa, fb = (np.array(x, dtype=float) for x in (a, b, fa, fb))
    active = np.ones(len(a), dtype=bool)
    for _ in range(60):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        ai, bi, fai, fbi = a[idx], b[idx], fa[idx], fb[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            c = (ai * fbi - bi * fai) / (fbi - fai)
        bad = ~np.isfinite(c) | (c <= np.minimum(ai, bi)) | (c >= np.maximum(ai, bi))
        c[bad] = 0.5 * (ai + bi)[bad]
        f, rate, _, _ = geometry.evaluate(sat[idx], sta[idx], c)
        fc = rate if derivative else f
        fc = np.nan_to_num(fc, nan=-1.0)
        same = np.signbit(fc) == np.signbit(fbi)
        a[idx] = np.where(same, ai, bi)
        fa[idx] = np.where(same, fai * 0.5, fbi)
        b[idx], fb[idx] = c, fc
        done = (np.abs(b[idx] - a[idx]) < ROOT_TOLERANCE_S) | (fc == 0)
        active[idx[done]] = False
    return b


def predict(
    satrecs: list[Satrec],
    stations: list[Station],
    start: datetime,
    end: datetime,
    *,
    step_s: float = STEP_S,
    lookaround_s: float = LOOKAROUND_S,
) -> list[PassWindow]:
    """Every pass of every spacecraft over every station overlapping [start, end]."""
    if not satrecs or not stations:
        return []
    geometry = _Geometry(satrecs, stations, start)
    duration = (end - start).total_seconds()
    t = np.append(np.arange(0.0, duration, step_s), duration)
    r = geometry.grid(t)
    n_sta = len(stations)

    # Crossing and maximum brackets, as flat arrays over (satellite, station).
    rises, sets, peaks, grazes = [], [], [], []
    starts_up, ends_up = [], []
    r2 = np.einsum("...k,...k->...", r, r)
    for k in range(n_sta):
        f = geometry.sin_elevation(r, k, r2)
        f -= geometry.threshold[k]
        np.nan_to_num(f, copy=False, nan=-2.0)
        up = f >= 0
        change = up[:, 1:] != up[:, :-1]
        si, ti = np.nonzero(change & up[:, 1:])
        rises.append((si, np.full(len(si), k), ti, f[si, ti], f[si, ti + 1]))
        si, ti = np.nonzero(change & up[:, :-1])
        sets.append((si, np.full(len(si), k), ti, f[si, ti], f[si, ti + 1]))
        mid = f[:, 1:-1]
        is_max = (mid > f[:, :-2]) & (mid >= f[:, 2:])
        si, ti = np.nonzero(is_max & (mid >= 0))
        peaks.append((si, np.full(len(si), k), ti + 1, f[si, ti + 1]))
        si, ti = np.nonzero(is_max & (mid < 0) & (mid > -GRAZING_MARGIN))
        grazes.append((si, np.full(len(si), k), ti + 1))
        starts_up.append(np.flatnonzero(up[:, 0]))
        ends_up.append(np.flatnonzero(up[:, -1]))

    def cat(parts, i, dtype=None):
        return np.concatenate([p[i] for p in parts]).astype(dtype) if parts else np.array([], dtype=dtype)

    # Grazing candidates: find the true maximum; keep those that reach the threshold.
    g_sat, g_sta, g_i = (cat(grazes, i, int) for i in range(3))
    extra_rise, extra_set, extra_peak = [], [], []
    if len(g_sat):
        lo, hi = t[g_i - 1], t[g_i + 1]
        _, rate_lo, _, _ = geometry.evaluate(g_sat, g_sta, lo)
        _, rate_hi, _, _ = geometry.evaluate(g_sat, g_sta, hi)
        ok = (rate_lo > 0) & (rate_hi < 0)
        g_sat, g_sta, lo, hi = g_sat[ok], g_sta[ok], lo[ok], hi[ok]
        tmax = _refine(geometry, g_sat, g_sta, lo, hi, rate_lo[ok], rate_hi[ok], derivative=True)
        fmax, _, _, _ = geometry.evaluate(g_sat, g_sta, tmax)
        f_lo, _, _, _ = geometry.evaluate(g_sat, g_sta, lo)
        f_hi, _, _, _ = geometry.evaluate(g_sat, g_sta, hi)
        keep = (fmax >= 0) & (f_lo < 0) & (f_hi < 0)
        for arr in (g_sat, g_sta, lo, hi, tmax, fmax, f_lo, f_hi):
            arr.flags.writeable = True
        g_sat, g_sta, lo, hi, tmax, fmax, f_lo, f_hi = (x[keep] for x in (g_sat, g_sta, lo, hi, tmax, fmax, f_lo, f_hi))
        extra_rise = (g_sat, g_sta, lo, tmax, f_lo, fmax)
        extra_set = (g_sat, g_sta, tmax, hi, fmax, f_hi)
        extra_peak = (g_sat, g_sta, tmax)

    # Root refinement, all brackets at once.
    r_sat, r_sta, r_i = (cat(rises, i, int) for i in range(3))
    s_sat, s_sta, s_i = (cat(sets, i, int) for i in range(3))
    rise_a, rise_b, rise_fa, rise_fb = t[r_i], t[r_i + 1], cat(rises, 3, float), cat(rises, 4, float)
    set_a, set_b, set_fa, set_fb = t[s_i], t[s_i + 1], cat(sets, 3, float), cat(sets, 4, float)
    if extra_rise:
        r_sat, r_sta = np.concatenate([r_sat, extra_rise[0]]), np.concatenate([r_sta, extra_rise[1]])
        rise_a, rise_b = np.concatenate([rise_a, extra_rise[2]]), np.concatenate([rise_b, extra_rise[3]])
        rise_fa, rise_fb = np.concatenate([rise_fa, extra_rise[4]]), np.concatenate([rise_fb, extra_rise[5]])
        s_sat, s_sta = np.concatenate([s_sat, extra_set[0]]), np.concatenate([s_sta, extra_set[1]])
        set_a, set_b = np.concatenate([set_a, extra_set[2]]), np.concatenate([set_b, extra_set[3]])
        set_fa, set_fb = np.concatenate([set_fa, extra_set[4]]), np.concatenate([set_fb, extra_set[5]])
    crossing_sat = np.concatenate([r_sat, s_sat])
    crossing_sta = np.concatenate([r_sta, s_sta])
    roots = _refine(
        geometry,
        crossing_sat,
        crossing_sta,
        np.concatenate([rise_a, set_a]),
        np.concatenate([rise_b, set_b]),
        np.concatenate([rise_fa, set_fa]),
        np.concatenate([rise_fb, set_fb]),
        derivative=False,
    )
    aos_t, los_t = roots[: len(r_sat)], roots[len(r_sat) :]

    # Passes in progress at the window's edges: follow them outside the window.
    edge_rise = _follow_edges(geometry, starts_up, t[0], -1, step_s, lookaround_s)
    edge_set = _follow_edges(geometry, ends_up, t[-1], +1, step_s, lookaround_s)

    # Pair rises with sets per (satellite, station) in time order.
    events: dict[tuple[int, int], list] = {}
    for sat, sta, when in zip(r_sat, r_sta, aos_t, strict=True):
        events.setdefault((int(sat), int(sta)), []).append((when, 1, False))
    for sat, sta, when in zip(s_sat, s_sta, los_t, strict=True):
        events.setdefault((int(sat), int(sta)), []).append((when, -1, False))
    for (sat, sta), (when, continuous) in edge_rise.items():
        events.setdefault((sat, sta), []).append((when, 1, continuous))
    for (sat, sta), (when, continuous) in edge_set.items():
        events.setdefault((sat, sta), []).append((when, -1, continuous))

    windows: list[tuple[int, int, float, float, bool]] = []
    for (sat, sta), items in events.items():
        items.sort(key=lambda e: (e[0], -e[1]))
        opened = None
        for when, kind, continuous in items:
            if kind == 1:
                opened = (when, continuous)
            elif opened is not None:
                windows.append((sat, sta, opened[0], when, opened[1] or continuous))
                opened = None
    if not windows:
        return []
    return _finish(geometry, start, windows, t, step_s, extra_peak)


def _follow_edges(geometry, up_lists, t_edge, direction, step_s, lookaround_s) -> dict:
    """For pairs above the threshold at t_edge, the crossing time beyond the window (backwards
    for direction -1): {(sat, sta): (t, continuous)}."""
    pairs = [(int(s), k) for k, sats in enumerate(up_lists) for s in sats]
    found: dict = {}
    remaining = pairs
    # Most passes end within half an hour at the grid's step; the rest (MEO, Molniya, GEO) are
    # followed with a coarser step: a bracket is all that is needed, refinement does the rest.
    for horizon, step in ((SHORT_LOOKAROUND_S, step_s), (lookaround_s, 5 * step_s)):
        if not remaining:
            break
        t = t_edge + direction * np.arange(0.0, horizon + step, step)
        sats = sorted({s for s, _ in remaining})
        row = {s: i for i, s in enumerate(sats)}
        r = geometry.grid(np.sort(t) if direction < 0 else t, satellites=sats)
        if direction < 0:
            r = r[:, ::-1]
        unresolved, brackets = [], []
        for s, k in remaining:
            f = np.nan_to_num(geometry.sin_elevation(r[row[s]], k) - geometry.threshold[k], nan=-2.0)
            below = np.flatnonzero(f < 0)
            if len(below):
                j = below[0]
                brackets.append((s, k, t[j - 1], t[j], f[j - 1], f[j]))
            else:
                unresolved.append((s, k))
        if brackets:
            sat, sta, a, b, fa, fb = (np.array(x) for x in zip(*brackets, strict=True))
            roots = _refine(geometry, sat.astype(int), sta.astype(int), a, b, fa, fb, derivative=False)
            for s, k, root in zip(sat, sta, roots, strict=True):
                found[(int(s), int(k))] = (float(root), False)
        remaining = unresolved
    for s, k in remaining:
        found[(s, k)] = (t_edge + direction * lookaround_s, True)
    return found


def _finish(geometry, start, windows, t, step_s, extra_peak) -> list[PassWindow]:
    sat = np.array([w[0] for w in windows])
    sta = np.array([w[1] for w in windows])
    aos = np.array([w[2] for w in windows])
    los = np.array([w[3] for w in windows])
    continuous = np.array([w[4] for w in windows])

    # TCA: the best of a few samples across the pass, then the root of d sin(el)/dt around it.
    samples = 9
    frac = np.linspace(0.0, 1.0, samples)
    probe_t = (aos[:, None] + (los - aos)[:, None] * frac[None, :]).ravel()
    probe_f, _, _, _ = geometry.evaluate(np.repeat(sat, samples), np.repeat(sta, samples), probe_t)
    probe_f = np.nan_to_num(probe_f.reshape(-1, samples), nan=-2.0)
    best = probe_f.argmax(axis=1)
    half = (los - aos) / (samples - 1)
    lo = np.maximum(aos, probe_t.reshape(-1, samples)[np.arange(len(sat)), best] - half)
    hi = np.minimum(los, probe_t.reshape(-1, samples)[np.arange(len(sat)), best] + half)
    _, rate_lo, _, _ = geometry.evaluate(sat, sta, lo)
    _, rate_hi, _, _ = geometry.evaluate(sat, sta, hi)
    tca = probe_t.reshape(-1, samples)[np.arange(len(sat)), best].copy()
    bracketed = (rate_lo > 0) & (rate_hi < 0)
    if bracketed.any():
        tca[bracketed] = _refine(
            geometry,
            sat[bracketed],
            sta[bracketed],
            lo[bracketed],
            hi[bracketed],
            rate_lo[bracketed],
            rate_hi[bracketed],
            derivative=True,
        )
    _, _, _, sin_max = geometry.evaluate(sat, sta, tca)
    _, _, aos_az, _ = geometry.evaluate(sat, sta, aos)
    _, _, los_az, _ = geometry.evaluate(sat, sta, los)
    max_el = np.rad2deg(np.arcsin(np.clip(sin_max, -1, 1)))

    origin = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")

    def when(seconds: np.ndarray) -> list[datetime]:
        stamps = origin + np.round(seconds * 1e3).astype("int64").astype("timedelta64[ms]")
        return [d.replace(tzinfo=UTC) for d in stamps.astype("datetime64[us]").tolist()]

    order = np.argsort(aos, kind="stable")
    columns = zip(
        sat[order].tolist(),
        sta[order].tolist(),
        when(aos[order]),
        when(los[order]),
        when(tca[order]),
        max_el[order].tolist(),
        aos_az[order].tolist(),
        los_az[order].tolist(),
        continuous[order].tolist(),
        strict=True,
    )
    return [PassWindow(*c) for c in columns]


def _predict_chunk(lines, stations, start, end, offset):
    satrecs = [prop.satrec_from_lines(a, b) for a, b in lines]
    windows = predict(satrecs, stations, start, end)
    for w in windows:
        w.satellite += offset
    return windows


def predict_lines(
    lines: list[tuple[str, str]], stations: list[Station], start: datetime, end: datetime, *, processes: int = 2
) -> list[PassWindow]:
    """`predict` for TLE line pairs, the satellites split across `processes` worker processes
    when there are enough of them (the SGP4 core holds the GIL)."""
    if processes <= 1 or len(lines) * len(stations) < 2000:
        return predict([prop.satrec_from_lines(a, b) for a, b in lines], stations, start, end)
    bounds = np.linspace(0, len(lines), processes + 1).astype(int)
    pool = prop._get_pool(processes)
    futures = [
        pool.submit(_predict_chunk, lines[a:b], stations, start, end, int(a))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    windows = [w for future in futures for w in future.result()]
    windows.sort(key=lambda w: w.aos)
    return windows
