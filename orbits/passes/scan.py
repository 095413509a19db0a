"""The grid scan: each spacecraft sampled on its grid, and per station the brackets where the
elevation crosses the threshold or has an extremum (steps 1, 2 and 5 of the package's outline)."""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .. import propagation as prop
from .roots import Segments, segments_between
from .sampling import ROOT_TOLERANCE_S, StationGeometry, grid_step_s, last_valid_s, padding_s, sample_grid

HIDDEN_MARGIN = 0.02  # in sin(el): how far below the threshold a hidden maximum is refined
# Below this perigee height a pass is so brief and peaked that the end slopes underestimate
# its maximum badly (a decaying object): hidden maxima are refined from further below.
LOW_PERIGEE_KM = 350.0
LOW_HIDDEN_MARGIN = 0.15
RISE, SET, MAX, MIN = 0, 1, 2, 3  # what a bracket holds


@dataclass
class Scan:
    parts: list[Segments] = field(default_factory=list)
    # (sat, sta, t, +1 open / -1 close, sin el, azimuth, sgp4 end): above the threshold at a grid end
    edges: list[tuple] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)  # rows of windows.FAILURES


def grid_groups(satrecs, stations, duration: float, lookaround_s: float) -> list[tuple]:
    """(step, padding, members, grid end) for each set of spacecraft that share a grid."""
    lowest = min(s.min_elevation_deg for s in stations)
    grouped: dict[tuple[float, float], list[int]] = defaultdict(list)
    for i, satrec in enumerate(satrecs):
        step = grid_step_s(satrec)
        grouped[(step, padding_s(satrec, step, lookaround_s, lowest))].append(i)
    return [(step, pad, members, duration + pad) for (step, pad), members in grouped.items()]


def scan_grids(satrecs, geo: StationGeometry, jd0: float, fr0: float, duration: float, groups: list) -> Scan:
    """Sample every group's grid and gather its brackets. A spacecraft whose SGP4 fails gets its
    own grid, cut at its last valid time (pushed onto `groups`)."""
    scan = Scan()
    while groups:
        step, pad, members, grid_end = groups.pop()
        t = np.arange(-pad, grid_end, step)
        t = np.append(t[t < grid_end - 1.0], grid_end)
        r, v, errors = sample_grid([satrecs[i] for i in members], t, jd0, fr0)
        failing = np.flatnonzero(errors.any(axis=1)) if grid_end == duration + pad else np.array([], dtype=int)
        for row in failing:
            regrid = _record_failure(satrecs, jd0, fr0, t, errors[row], members[row], step, pad, scan.failures)
            if regrid is not None:
                groups.append(regrid)
        if len(failing):
            keep = np.setdiff1d(np.arange(len(members)), failing)
            if not len(keep):
                continue
            members = [members[i] for i in keep]
            r, v = r[keep], v[keep]
        cut_by_error = grid_end != duration + pad
        part = _scan_grid(satrecs, geo, members, r, v, t, cut_by_error, scan.edges)
        scan.parts.append(part)
    return scan


def _record_failure(satrecs, jd0, fr0, t, errors, member, step, pad, failures) -> tuple | None:
    """Note where SGP4 stopped for one spacecraft; the grid to scan it again on, cut at its last
    valid time, or None when nothing of it is left to scan."""
    first = int(np.argmax(errors != 0))
    code = int(errors[first])
    if first == 0:
        failures.append((member, code, t[0], np.nan))
        return None
    last = last_valid_s(satrecs[member], jd0, fr0, t[first - 1], t[first])
    failures.append((member, code, last + ROOT_TOLERANCE_S, last))
    if last >= 0 and last > -pad + step:
        return (step, pad, [member], last)
    return None


def _scan_grid(satrecs, geo: StationGeometry, members, r, v, t, cut_by_error: bool, edges: list) -> Segments:
    """The brackets of one grid over every station; adds to `edges` the passes in progress at
    its ends."""
    sat_rows = np.array(members)
    perigee_km = np.array([satrecs[i].a * (1 - satrecs[i].ecco) * satrecs[i].radiusearthkm for i in members])
    margin = np.where(perigee_km - prop.WGS84_A_KM < LOW_PERIGEE_KM, LOW_HIDDEN_MARGIN, HIDDEN_MARGIN)
    r2 = np.einsum("ijk,ijk->ij", r, r)
    rv = np.einsum("ijk,ijk->ij", r, v)
    found = []
    for k in range(len(geo.threshold)):
        f, rate, dist2 = _elevation_on_grid(r, v, r2, rv, geo, k)
        above = f >= 0  # NaN (SGP4 failed) counts as below
        found += _brackets(f, rate, dist2, above, t, k, margin)
        edges += _grid_end_edges(r, f, above, t, geo, k, sat_rows, cut_by_error)
    sizes = [len(part[0]) for part in found]
    rows, cols, sta, kind, hidden = (
        np.concatenate([np.broadcast_to(x, n) for x, n in zip(column, sizes, strict=True)])
        for column in zip(*found, strict=True)
    )
    return segments_between(sat_rows, r, v, t, rows, cols, sta, kind, hidden, geo)


def _elevation_on_grid(r, v, r2, rv, geo: StationGeometry, k: int):
    """f = sin(el) - sin(min el) over the grid for station k, a rate with the sign of df/dt, and
    the squared distance |d|²."""
    site, up = geo.site[k], geo.up[k]
    along = r @ up
    along -= site @ up
    dist2 = r @ (-2.0 * site)
    dist2 += r2
    dist2 += site @ site
    f = np.sqrt(dist2)
    np.divide(along, f, out=f)
    f -= geo.threshold[k]
    # d sin(el)/dt has the sign of (v·up)|d|² - (d·up)(d·v)
    rate = v @ up
    rate *= dist2
    rate -= along * (rv - v @ site)
    return f, rate, dist2


def _brackets(f, rate, dist2, above, t, k: int, margin) -> list[tuple]:
    """(rows, cols, station, kind, hidden) of the crossings, the maxima worth refining and the
    dips inside a pass, for station k."""
    found = []
    rising = rate > 0
    a, b = above[:, :-1], above[:, 1:]
    rows, cols = np.nonzero(a != b)
    found.append((rows, cols, k, np.where(b[rows, cols], RISE, SET), False))
    rows, cols = np.nonzero(np.greater(rising[:, :-1], rising[:, 1:]))
    hidden = ~above[rows, cols] & ~above[rows, cols + 1]
    # A maximum between two samples below the threshold: only those that may reach it,
    # by the parabola through the end slopes (d sin(el)/dt = rate / |d|³), with a margin.
    slope0 = rate[rows, cols] / (dist2[rows, cols] * np.sqrt(dist2[rows, cols]))
    slope1 = rate[rows, cols + 1] / (dist2[rows, cols + 1] * np.sqrt(dist2[rows, cols + 1]))
    h = (t[cols + 1] - t[cols]) / 2
    reach = np.minimum(f[rows, cols] + h * slope0, f[rows, cols + 1] - h * slope1)
    keep = ~hidden | (reach > -margin[rows])
    found.append((rows[keep], cols[keep], k, MAX, hidden[keep]))
    rows, cols = np.nonzero(np.less(rising[:, :-1], rising[:, 1:]) & a & b)
    found.append((rows, cols, k, MIN, False))
    return found


def _grid_end_edges(r, f, above, t, geo: StationGeometry, k: int, sat_rows, cut_by_error: bool) -> list[tuple]:
    """The spacecraft above the threshold of station k at the grid's first and last samples."""
    edges = []
    site = geo.site[k]
    for col, direction in ((0, 1), (-1, -1)):
        rows = np.flatnonzero(above[:, col])
        if len(rows):
            d = r[rows, col] - site
            edges.append(
                (
                    sat_rows[rows],
                    np.full(len(rows), k),
                    np.full(len(rows), t[col]),
                    np.full(len(rows), direction),
                    f[rows, col] + geo.threshold[k],
                    geo.azimuth_deg(d, np.full(len(rows), k)),
                    np.full(len(rows), cut_by_error and direction == -1),
                )
            )
    return edges
