"""The pass search: the grid scan's brackets refined to maxima and crossings (steps 3 and 4 of
the package's outline), then paired into windows, each with its TCA and maximum elevation."""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sgp4.api import Satrec

from .. import propagation as prop
from .roots import Segments, concat_segments, polish_on_sgp4
from .sampling import StationGeometry, sgp4_crossing, sgp4_look
from .scan import MAX, RISE, SET, Scan, grid_groups, scan_grids
from .windows import FAILURES, TABLE, PassWindow, Prediction, Station, failures_from_table, windows_from_table

# Crossings where d·up - sin(min el)·|d| changes slower than this (km/s) are polished on SGP4.
GRAZING_RATE_KM_S = 1.0
CLOSE_CALL = 1e-4  # in sin(el): extrema this close to the threshold are checked on SGP4
LOOKAROUND_S = 12 * 3600.0


@dataclass
class _Extrema:
    idx: np.ndarray  # segments holding a maximum or a dip
    s: np.ndarray
    sin_el: np.ndarray
    f: np.ndarray  # sin(el) - sin(min el)
    peak: np.ndarray  # a maximum at or above the threshold
    hidden: np.ndarray  # a peak between two samples below the threshold: a pass of its own
    dip: np.ndarray  # a minimum below the threshold inside a pass: it ends one and starts another


@dataclass
class _Crossings:
    idx: np.ndarray
    kind: np.ndarray  # RISE or SET
    s: np.ndarray
    azimuth_deg: np.ndarray


@dataclass
class _Events:
    """AOS / LOS candidates: the crossings and the grid ends above the threshold."""

    pair: np.ndarray  # satellite * n_sta + station
    t: np.ndarray
    direction: np.ndarray  # +1 opens a window, -1 closes one
    sin_el: np.ndarray
    azimuth_deg: np.ndarray
    sgp4_end: np.ndarray
    continuous: np.ndarray


def predict(
    satrecs: list[Satrec],
    stations: list[Station],
    start: datetime,
    end: datetime,
    *,
    lookaround_s: float = LOOKAROUND_S,
    cut_at_window: bool = False,
) -> list[PassWindow]:
    """Every pass of every spacecraft over every station overlapping [start, end]. A pass in
    progress at an edge keeps its true AOS / LOS, unless `cut_at_window` (then it is cut there
    and marked); a `continuous` one is always cut at the window."""
    return prediction(satrecs, stations, start, end, lookaround_s=lookaround_s, cut_at_window=cut_at_window).windows


def prediction(
    satrecs: list[Satrec],
    stations: list[Station],
    start: datetime,
    end: datetime,
    *,
    lookaround_s: float = LOOKAROUND_S,
    cut_at_window: bool = False,
) -> Prediction:
    """`predict`, with where SGP4 stopped for each spacecraft it failed for."""
    table, failures = predict_table(
        satrecs, stations, start, end, lookaround_s=lookaround_s, cut_at_window=cut_at_window
    )
    return Prediction(windows_from_table(table, start, end), failures_from_table(failures, start))


def predict_table(satrecs, stations, start, end, *, lookaround_s=LOOKAROUND_S, cut_at_window=False):
    """`predict` as a structured array (times in seconds from `start`), in AOS order, and the
    SGP4 failures (FAILURES)."""
    if not satrecs or not stations:
        return np.empty(0, dtype=TABLE), np.empty(0, dtype=FAILURES)
    geo = StationGeometry(stations)
    n_sta = len(stations)
    duration = (end - start).total_seconds()
    jd0, fr0 = (float(a[0]) for a in prop.julian([start]))
    scan = scan_grids(satrecs, geo, jd0, fr0, duration, grid_groups(satrecs, stations, duration, lookaround_s))
    failures = np.array(scan.failures, dtype=FAILURES)
    if not scan.parts:
        return np.empty(0, dtype=TABLE), failures
    seg = concat_segments(scan.parts, geo)
    extrema = _solve_extrema(seg, satrecs, geo, jd0, fr0)
    crossings = _solve_crossings(seg, extrema, satrecs, geo, jd0, fr0)
    events = _events(seg, crossings, scan, n_sta)
    opens, closes = _pair_windows(events, duration)
    if not len(opens):
        return np.empty(0, dtype=TABLE), failures
    table = _table(seg, extrema, events, opens, closes, n_sta, duration, lookaround_s)
    _cut(table, satrecs, geo, jd0, fr0, duration, everything=cut_at_window)
    finite = np.ones(len(table), dtype=bool)
    for name in ("aos", "los", "tca", "max_elevation_deg", "aos_azimuth_deg", "los_azimuth_deg"):
        finite &= np.isfinite(table[name])
    table = table[finite]  # never a NaN: a window SGP4 could not settle is left out
    return table[np.argsort(table["aos"], kind="stable")], failures


def _solve_extrema(seg: Segments, satrecs, geo: StationGeometry, jd0, fr0) -> _Extrema:
    """Maxima (TCA candidates, hidden passes) and dips."""
    ext = np.flatnonzero(seg.kind >= MAX)
    s_ext = seg.solve(seg.extremum, ext, np.zeros(len(ext)), np.ones(len(ext)))
    sin_ext = seg.sin_elevation(s_ext, ext)
    f_ext = sin_ext - seg.threshold[ext]
    # Whether a maximum (dip) just reaches (misses) the threshold is SGP4's to say, not the
    # interpolant's: a pass of a few seconds hinges on metres.
    close = np.flatnonzero(np.abs(f_ext) < CLOSE_CALL)
    if len(close):
        i = ext[close]
        f_ext[close], _ = sgp4_crossing(
            satrecs, geo, jd0, fr0, seg.sat[i], seg.sta[i], seg.t0[i] + s_ext[close] * seg.h[i]
        )
        sin_ext[close] = f_ext[close] + seg.threshold[i]
    is_max = seg.kind[ext] == MAX
    peak = is_max & (f_ext >= 0) & seg.valid[ext]
    hidden = peak & seg.hidden[ext]
    dip = ~is_max & (f_ext < 0) & seg.valid[ext]
    return _Extrema(ext, s_ext, sin_ext, f_ext, peak, hidden, dip)


def _solve_crossings(seg: Segments, extrema: _Extrema, satrecs, geo: StationGeometry, jd0, fr0) -> _Crossings:
    """Every crossing of the threshold: the grid's brackets, and on either side of each hidden
    maximum and of each dip."""
    ext, s_ext, hidden, dip = extrema.idx, extrema.s, extrema.hidden, extrema.dip
    plain = np.flatnonzero(seg.kind <= SET)
    zeros, ones = np.zeros(len(plain)), np.ones(len(plain))
    cross_idx = np.concatenate([plain, ext[hidden], ext[hidden], ext[dip], ext[dip]])
    cross_kind = np.concatenate(
        [seg.kind[plain], np.full(hidden.sum(), RISE), np.full(hidden.sum(), SET)]
        + [np.full(dip.sum(), SET), np.full(dip.sum(), RISE)]
    )
    lo = np.concatenate([zeros, np.zeros(hidden.sum()), s_ext[hidden], np.zeros(dip.sum()), s_ext[dip]])
    hi = np.concatenate([ones, s_ext[hidden], np.ones(hidden.sum()), s_ext[dip], np.ones(dip.sum())])
    near = np.abs(extrema.f) < CLOSE_CALL
    cross_close = np.concatenate([np.zeros(len(plain), dtype=bool), near[hidden], near[hidden], near[dip], near[dip]])
    s_cross = seg.solve(seg.crossing, cross_idx, lo, hi)
    # A bracket reaching a sample where SGP4 failed (decay): the event is at the last good sample.
    broken = ~seg.valid[cross_idx]
    s_cross[broken] = np.where(cross_kind[broken] == RISE, 1.0, 0.0)
    # Where the elevation barely changes at the crossing (a grazing pass), metres of interpolation
    # error are a fraction of a second: a few Newton steps on SGP4 itself settle those.
    _, slope = seg.crossing(s_cross, cross_idx)
    weak = np.flatnonzero(~broken & ((np.abs(slope) / seg.h[cross_idx] < GRAZING_RATE_KM_S) | cross_close))
    if len(weak):
        i = cross_idx[weak]
        t0, h = seg.t0[i], seg.h[i]
        t_root = polish_on_sgp4(
            satrecs,
            geo,
            jd0,
            fr0,
            seg.sat[i],
            seg.sta[i],
            cross_kind[weak] == RISE,
            t0 + s_cross[weak] * h,
            t0 + lo[weak] * h,
            t0 + hi[weak] * h,
        )
        s_cross[weak] = (t_root - t0) / h
    cross_az = np.full(len(cross_idx), np.nan)
    good = ~broken
    cross_az[good] = geo.azimuth_deg(seg.vector(s_cross[good], cross_idx[good]), seg.sta[cross_idx[good]])
    return _Crossings(cross_idx, cross_kind, s_cross, cross_az)


def _events(seg: Segments, crossings: _Crossings, scan: Scan, n_sta: int) -> _Events:
    """The crossings and the grid-end edges as one list of events per (satellite, station)."""
    cross_idx, s_cross = crossings.idx, crossings.s
    edge = [np.concatenate(x) for x in zip(*scan.edges, strict=True)] if scan.edges else [np.array([])] * 7
    event_sat = np.concatenate([seg.sat[cross_idx], edge[0]]).astype(int)
    event_sta = np.concatenate([seg.sta[cross_idx], edge[1]]).astype(int)
    event_t = np.concatenate([seg.t0[cross_idx] + s_cross * seg.h[cross_idx], edge[2]])
    event_dir = np.concatenate([np.where(crossings.kind == RISE, 1, -1), edge[3]]).astype(int)
    event_sin = np.concatenate([seg.threshold[cross_idx], edge[4]])
    event_az = np.concatenate([crossings.azimuth_deg, edge[5]])
    event_sgp4_end = np.concatenate([np.zeros(len(cross_idx), dtype=bool), edge[6].astype(bool)])
    event_continuous = np.concatenate([np.zeros(len(cross_idx), dtype=bool), np.ones(len(edge[0]), dtype=bool)])
    event_continuous &= ~event_sgp4_end
    event_pair = event_sat * n_sta + event_sta
    return _Events(event_pair, event_t, event_dir, event_sin, event_az, event_sgp4_end, event_continuous)


def _pair_windows(events: _Events, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Per (satellite, station), in time order: a window from each rise to the next set, kept
    where it overlaps [0, duration]. The indices of its opening and closing events."""
    event_pair, event_t, event_dir = events.pair, events.t, events.direction
    order = np.lexsort((-event_dir, event_t, event_pair))
    is_window = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        o_prev, o_next = order[:-1], order[1:]
        is_window[1:] = (
            (event_pair[o_prev] == event_pair[o_next]) & (event_dir[o_prev] == 1) & (event_dir[o_next] == -1)
        )
    closes = order[is_window]
    opens = order[np.flatnonzero(is_window) - 1]
    overlaps = (event_t[closes] >= 0) & (event_t[opens] <= duration)
    return opens[overlaps], closes[overlaps]


def _table(seg, extrema: _Extrema, events: _Events, opens, closes, n_sta, duration, lookaround_s) -> np.ndarray:
    """The windows as a TABLE, with TCA: the highest maximum inside each window; without one,
    the higher end of the window."""
    event_t, event_sin = events.t, events.sin_el
    pair = events.pair[opens]
    aos, los = event_t[opens], event_t[closes]
    tca = np.where(event_sin[opens] >= event_sin[closes], aos, los)
    sin_max = np.maximum(event_sin[opens], event_sin[closes])
    peak = extrema.peak
    c_idx = extrema.idx[peak]
    c_pair = seg.sat[c_idx] * n_sta + seg.sta[c_idx]
    c_t = seg.t0[c_idx] + extrema.s[peak] * seg.h[c_idx]
    c_sin = extrema.sin_el[peak]
    span = duration + 2 * lookaround_s + 10.0
    window_key = pair * span + (aos + lookaround_s + 1)
    c_key = c_pair * span + (c_t + lookaround_s + 1)
    w = np.searchsorted(window_key, c_key, side="right") - 1
    inside = (w >= 0) & (pair[np.maximum(w, 0)] == c_pair) & (c_t <= los[np.maximum(w, 0)])
    w, c_t, c_sin = w[inside], c_t[inside], c_sin[inside]
    best = np.lexsort((c_sin, w))
    last = np.append(w[best][1:] != w[best][:-1], True)
    chosen = best[last]
    tca[w[chosen]], sin_max[w[chosen]] = c_t[chosen], c_sin[chosen]
    max_el = np.rad2deg(np.arcsin(np.clip(sin_max, -1, 1)))

    table = np.empty(len(pair), dtype=TABLE)
    table["satellite"], table["station"] = pair // n_sta, pair % n_sta
    table["aos"], table["los"], table["tca"], table["max_elevation_deg"] = aos, los, tca, max_el
    table["aos_azimuth_deg"], table["los_azimuth_deg"] = events.azimuth_deg[opens], events.azimuth_deg[closes]
    table["continuous"] = events.continuous[opens] | events.continuous[closes]
    table["sgp4_end"] = events.sgp4_end[closes]
    table["cut_at_start"] = table["cut_at_end"] = False
    return table


def _cut(table, satrecs, geo, jd0, fr0, duration, *, everything: bool) -> None:
    """Cut at the window [0, duration] the continuous windows (or, with `everything`, every
    window in progress at an edge): mark them, and take azimuth, TCA and maximum elevation
    inside the window, from SGP4 at the new ends."""
    for edge, time_name, az_name, flag in (
        (0.0, "aos", "aos_azimuth_deg", "cut_at_start"),
        (duration, "los", "los_azimuth_deg", "cut_at_end"),
    ):
        outside = table[time_name] < edge if edge == 0.0 else table[time_name] > edge
        rows = np.flatnonzero(outside & (table["continuous"] | everything))
        if not len(rows):
            continue
        sin_el, azimuth = sgp4_look(
            satrecs, geo, jd0, fr0, table["satellite"][rows], table["station"][rows], np.full(len(rows), edge)
        )
        table[time_name][rows] = edge
        table[az_name][rows] = azimuth
        table[flag][rows] = True
        # TCA outside the window: the elevation falls (rises) all the way from (to) this edge.
        moved = (table["tca"][rows] < edge) if edge == 0.0 else (table["tca"][rows] > edge)
        table["tca"][rows[moved]] = edge
        table["max_elevation_deg"][rows[moved]] = np.rad2deg(np.arcsin(np.clip(sin_el[moved], -1, 1)))
