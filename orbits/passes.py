"""Pass prediction for many spacecraft over many stations at once.

1. Each spacecraft is sampled on a grid whose step suits its orbit (`grid_step_s`: about 3 minutes in
   LEO, more for higher orbits): Earth-fixed position and velocity, one SatrecArray call per
   block of spacecraft that share a step. The grid reaches past the window by the longest pass
   the orbit can make (`padding_s`), so a pass in progress at either edge is found whole.
2. Per station, over the whole grid: the sign of f = sin(el) - sin(min el) and the sign of its
   time derivative (exact, from the velocity). Sign changes of f bracket AOS and LOS; df/dt
   going from + to - brackets a maximum, so a pass that rises and sets between two samples is
   found without any margin, and a dip below the threshold inside a pass likewise.
3. Between two samples the motion is the cubic Hermite interpolant of position and velocity,
   metres from SGP4 at these steps (`STEP_TOLERANCE_KM`), so no root needs SGP4 again: along a
   bracket d·up is a cubic and |d|² a sextic polynomial in time, and safeguarded Newton on them
   gives the maxima (TCA) and then AOS and LOS to a millisecond, all brackets at once.
4. A spacecraft still above the threshold at the grid's ends (GEO, a long MEO or Molniya pass)
   gives a `continuous` pass, cut at the window's edges.
5. An SGP4 error (decay, eccentricity out of range …) ends a spacecraft's prediction: the last
   valid time is found by bisection on SGP4 between the last valid and the first failed sample,
   its grid is cut there, and a pass in progress then ends there (`sgp4_end`). Nothing after
   it is predicted, and no NaN reaches a window.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sgp4.api import Satrec

from . import propagation as prop

STEP_TOLERANCE_KM = 0.05  # Hermite interpolation error allowed between two grid samples
STEPS_S = (30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 360.0, 480.0)
ROOT_TOLERANCE_S = 1e-3
# Crossings where d·up - sin(min el)·|d| changes slower than this (km/s) are polished on SGP4.
GRAZING_RATE_KM_S = 1.0
CLOSE_CALL = 1e-4  # in sin(el): extrema this close to the threshold are checked on SGP4
HIDDEN_MARGIN = 0.02  # in sin(el): how far below the threshold a hidden maximum is refined
# Below this perigee height a pass is so brief and peaked that the end slopes underestimate
# its maximum badly (a decaying object): hidden maxima are refined from further below.
LOW_PERIGEE_KM = 350.0
LOW_HIDDEN_MARGIN = 0.15
LOOKAROUND_S = 12 * 3600.0
PARALLEL_MIN_PAIRS = 2000  # below this many satellite × station pairs one process is faster
_RISE, _SET, _MAX, _MIN = 0, 1, 2, 3
# Short names of SGP4's error codes (sgp4.api.SGP4_ERRORS has the long ones).
SGP4_ERROR_NAMES = {
    1: "mean eccentricity out of range",
    2: "mean motion below zero",
    3: "eccentricity out of range",
    4: "semi-latus rectum below zero",
    5: "sub-orbital",
    6: "decayed",
}


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
    cut_at_start: bool = False  # in progress at the window's start: aos is the window's start
    cut_at_end: bool = False  # in progress at the window's end: los is the window's end
    sgp4_end: bool = False  # los is where SGP4 stopped (see Prediction.failures)

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


@dataclass(frozen=True)
class SGP4Failure:
    """Where SGP4 stopped for one spacecraft: `last_valid` is None when it failed from the first
    sample on (before the window, or the set is unusable)."""

    code: int
    failed_at: datetime
    last_valid: datetime | None

    @property
    def error(self) -> str:
        return SGP4_ERROR_NAMES.get(self.code, f"SGP4 error {self.code}")


@dataclass
class Prediction:
    windows: list[PassWindow]
    failures: dict[int, SGP4Failure]  # satellite index -> where its prediction ended


def grid_step_s(satrec: Satrec) -> float:
    """A sampling step for this orbit. A cubic Hermite interpolant over a step h is off by about
    r·ω⁴·h⁴/384 (ω: the angular rate at perigee plus the Earth's): within STEP_TOLERANCE_KM,
    and at most 1/16 of a revolution so that no two extrema of the elevation share a step."""
    e = min(max(satrec.ecco, 0.0), 0.95)
    perigee_km = max(satrec.a * (1 - e) * satrec.radiusearthkm, prop.WGS84_B_KM)
    omega = satrec.no_kozai / 60.0 * math.sqrt((1 + e) / (1 - e) ** 3) + prop.EARTH_ROTATION_RAD_S
    step = min((384 * STEP_TOLERANCE_KM / (perigee_km * omega**4)) ** 0.25, 2 * math.pi / omega / 16)
    return max([s for s in STEPS_S if s <= step], default=STEPS_S[0])


def padding_s(satrec: Satrec, step_s: float, lookaround_s: float, lowest_min_elevation_deg: float) -> float:
    """How far past the window a pass in progress at its edge may reach. A near-circular orbit
    below ~4 h sees a station for at most the arc of its visibility cone (elevation >= 0, seen
    from the lowest Earth radius) against the Earth's rotation, plus a margin; anything else
    (MEO, GEO, Molniya, or a station that looks below the horizon) gets `lookaround_s`."""
    e, mean_motion = satrec.ecco, satrec.no_kozai / 60.0
    relative_rate = mean_motion - prop.EARTH_ROTATION_RAD_S
    if e >= 0.1 or mean_motion < 2 * math.pi / (4 * 3600) or lowest_min_elevation_deg < 0:
        return lookaround_s
    apogee_km = satrec.a * (1 + e) * satrec.radiusearthkm
    half_arc = math.acos(min(1.0, 6350.0 / apogee_km))
    longest = 1.25 * 2 * half_arc / relative_rate + 2 * step_s
    return min(lookaround_s, math.ceil(longest / 600) * 600.0)  # few distinct grids


class _Stations:
    def __init__(self, stations: list[Station]):
        lat = np.array([s.latitude_deg for s in stations], dtype=float)
        lon = np.array([s.longitude_deg for s in stations], dtype=float)
        alt = np.array([s.altitude_m for s in stations], dtype=float) / 1000
        self.site = prop.geodetic_to_ecef(lat, lon, alt)  # (n_sta, 3)
        phi, lam = np.deg2rad(lat), np.deg2rad(lon)
        self.up = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
        self.east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
        self.north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], axis=-1)
        self.threshold = np.sin(np.deg2rad([s.min_elevation_deg for s in stations]))

    def azimuth_deg(self, d: np.ndarray, sta: np.ndarray) -> np.ndarray:
        east = np.einsum("ij,ij->i", d, self.east[sta])
        north = np.einsum("ij,ij->i", d, self.north[sta])
        return np.mod(np.rad2deg(np.arctan2(east, north)), 360.0)


def _sample(satrecs: list[Satrec], t: np.ndarray, jd0: float, fr0: float):
    """Earth-fixed position (km) and velocity (km/s), (n_sat, n_t, 3), NaN where SGP4 fails,
    and SGP4's error codes (n_sat, n_t)."""
    jd, fr = np.full(t.shape, jd0), fr0 + t / 86400.0
    theta = prop.gmst_rad(jd, fr)
    r = np.empty((len(satrecs), len(t), 3))
    v = np.empty_like(r)
    errors = np.empty((len(satrecs), len(t)), dtype=np.uint8)
    start = 0
    for block in prop.satrec_blocks(satrecs):
        error, rb, vb = block.sgp4(jd, fr)
        failed = error != 0
        rb[failed] = np.nan
        vb[failed] = np.nan
        rows = slice(start, start + len(error))
        errors[rows] = error
        r[rows] = prop.teme_to_ecef(rb, theta)
        v[rows] = prop.ecef_velocity(r[rows], vb, theta)
        start += len(error)
    return r, v, errors


def _last_valid_s(satrec: Satrec, jd0: float, fr0: float, good: float, bad: float) -> float:
    """The last time (s from jd0 + fr0) SGP4 still works between a valid `good` and a failed
    `bad`, by bisection to ROOT_TOLERANCE_S."""
    while bad - good > ROOT_TOLERANCE_S:
        middle = 0.5 * (good + bad)
        error, _, _ = satrec.sgp4(jd0, fr0 + middle / 86400.0)
        if error:
            bad = middle
        else:
            good = middle
    return good


def _look(satrecs, geo: "_Stations", jd0, fr0, sat, sta, t):
    """sin(elevation) and azimuth (degrees) straight from SGP4, for (sat, sta, t)."""
    r = np.empty((len(t), 3))
    for i in range(len(t)):
        error, position, _ = satrecs[sat[i]].sgp4(jd0, fr0 + t[i] / 86400.0)
        r[i] = position if not error else np.nan
    theta = prop.gmst_rad(np.full(len(t), jd0), fr0 + np.asarray(t) / 86400.0)
    r = prop.teme_to_ecef(r[:, None, :], theta[:, None])[:, 0]
    d = r - geo.site[sta]
    sin_el = np.einsum("ij,ij->i", d, geo.up[sta]) / np.linalg.norm(d, axis=-1)
    return sin_el, geo.azimuth_deg(d, sta)


def _horner(coefficients: np.ndarray, s: np.ndarray):
    """Value and first two derivatives in s of polynomials (k, degree + 1), lowest power first."""
    p = coefficients[:, -1].copy()
    dp = np.zeros_like(p)
    ddp = np.zeros_like(p)
    for i in range(coefficients.shape[1] - 2, -1, -1):
        ddp = ddp * s + 2 * dp
        dp = dp * s + p
        p = p * s + coefficients[:, i]
    return p, dp, ddp


class _Segments:
    """Brackets between two grid samples: the vector d from the station to the spacecraft as a
    cubic in s = (t - t0) / h, s in [0, 1]; its projection on the station's up (a cubic) and
    its squared length (a sextic) as scalar polynomials, for sin(el) = d·up / |d|."""

    def __init__(self, sat, sta, kind, hidden, t0, h, c, stations: _Stations):
        self.sat, self.sta, self.kind, self.hidden, self.t0, self.h, self.c = sat, sta, kind, hidden, t0, h, c
        self.threshold = stations.threshold[sta]
        self.along_up = np.einsum("kij,kj->ki", c, stations.up[sta])
        dots = np.einsum("kij,klj->kil", c, c)
        self.length2 = np.zeros((len(sat), 7))
        for i in range(4):
            for j in range(4):
                self.length2[:, i + j] += dots[:, i, j]
        self.valid = np.isfinite(self.along_up).all(axis=1) & np.isfinite(self.length2).all(axis=1)

    def vector(self, s: np.ndarray, idx=slice(None)) -> np.ndarray:
        c, s = self.c[idx], s[:, None]
        return ((c[:, 3] * s + c[:, 2]) * s + c[:, 1]) * s + c[:, 0]

    def sin_elevation(self, s: np.ndarray, idx=slice(None)) -> np.ndarray:
        n, _, _ = _horner(self.along_up[idx], s)
        d2, _, _ = _horner(self.length2[idx], s)
        return n / np.sqrt(d2)

    def crossing(self, s, idx):
        """sin(el) - threshold, times |d| (same sign, smoother), and its s-derivative."""
        n, dn, _ = _horner(self.along_up[idx], s)
        d2, dd2, _ = _horner(self.length2[idx], s)
        rho = np.sqrt(d2)
        threshold = self.threshold[idx]
        return n - threshold * rho, dn - threshold * dd2 / (2 * rho)

    def extremum(self, s, idx):
        """d sin(el)/ds times |d|³ (same sign), and its s-derivative."""
        n, dn, ddn = _horner(self.along_up[idx], s)
        d2, dd2, ddd2 = _horner(self.length2[idx], s)
        return dn * d2 - 0.5 * n * dd2, ddn * d2 + 0.5 * dn * dd2 - 0.5 * n * ddd2

    def solve(self, function, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Root in s of `function` on [lo, hi] for the segments idx (values of opposite signs at
        the ends): Newton from the secant guess, falling back to bisection when it leaves the
        bracket; each to ROOT_TOLERANCE_S."""
        lo, hi = lo.astype(float), hi.astype(float)
        f_lo, _ = function(lo, idx)
        f_hi, _ = function(hi, idx)
        sign_lo = np.sign(f_lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = lo - f_lo * (hi - lo) / (f_hi - f_lo)
        outside = ~((x > lo) & (x < hi))
        x[outside] = 0.5 * (lo + hi)[outside]
        tolerance = ROOT_TOLERANCE_S / self.h[idx]
        active = np.flatnonzero(self.valid[idx] & (f_lo != 0) & (f_hi != 0))
        x[f_lo == 0], x[f_hi == 0] = lo[f_lo == 0], hi[f_hi == 0]
        return _safeguarded_newton(
            lambda xa, rows: function(xa, idx[rows]), x, lo, hi, sign_lo, tolerance, active, iterations=60
        )


def _safeguarded_newton(evaluate, x, lo, hi, sign_lo, tolerance, active, *, iterations: int) -> np.ndarray:
    """Newton steps on `evaluate(x, rows) -> (value, slope)` for the `active` rows, kept inside
    their brackets [lo, hi] (bisection when a step leaves them) until a step, or the bracket, is
    below `tolerance`. `sign_lo`: the sign of the function at each lo. Updates x, lo, hi in place."""
    tolerance = np.broadcast_to(tolerance, x.shape)
    for _ in range(iterations):
        if not len(active):
            break
        xa = x[active]
        value, slope = evaluate(xa, active)
        after = np.sign(value) == sign_lo[active]  # the root lies after xa
        lo[active] = np.where(after, xa, lo[active])
        hi[active] = np.where(after, hi[active], xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            nxt = xa - value / slope
        la, ha = lo[active], hi[active]
        outside = ~((nxt > la) & (nxt < ha))
        nxt[outside] = 0.5 * (la + ha)[outside]
        nxt[value == 0] = xa[value == 0]
        x[active] = nxt
        tol = tolerance[active]
        active = active[~((np.abs(nxt - xa) < tol) | (value == 0) | (ha - la < tol))]
    return x


def _exact(satrecs, geo: _Stations, jd0, fr0, sat, sta, t):
    """sin(el) - sin(min el) and its time derivative straight from SGP4, for (sat, sta, t)."""
    r = np.empty((len(t), 3))
    v = np.empty_like(r)
    order = np.argsort(sat, kind="stable")
    for chunk in np.split(order, np.flatnonzero(np.diff(sat[order])) + 1):
        if len(chunk):
            error, r[chunk], v[chunk] = satrecs[sat[chunk[0]]].sgp4_array(
                np.full(len(chunk), jd0), fr0 + t[chunk] / 86400
            )
            r[chunk[error != 0]] = np.nan
    theta = prop.gmst_rad(np.full(len(t), jd0), fr0 + t / 86400)
    r = prop.teme_to_ecef(r[:, None, :], theta[:, None])[:, 0]
    v = prop.ecef_velocity(r[:, None, :], v[:, None, :], theta[:, None])[:, 0]
    d = r - geo.site[sta]
    up = geo.up[sta]
    rho = np.linalg.norm(d, axis=-1)
    along = np.einsum("ij,ij->i", d, up)
    rate = np.einsum("ij,ij->i", v, up) / rho - along * np.einsum("ij,ij->i", d, v) / rho**3
    return along / rho - geo.threshold[sta], rate


def _polish(satrecs, geo, jd0, fr0, sat, sta, rise, t, lo, hi) -> np.ndarray:
    """Roots of sin(el) - sin(min el) straight on SGP4 from first guesses t in brackets [lo, hi]
    (below the threshold at lo for a rise, at hi for a set): safeguarded Newton, to
    ROOT_TOLERANCE_S."""
    t, lo, hi = t.copy(), lo.copy(), hi.copy()
    inside = (t > lo) & (t < hi)
    t[~inside] = 0.5 * (lo + hi)[~inside]
    sign_lo = np.where(rise, -1.0, 1.0)  # below the threshold before a rise, above before a set
    return _safeguarded_newton(
        lambda ta, rows: _exact(satrecs, geo, jd0, fr0, sat[rows], sta[rows], ta),
        t, lo, hi, sign_lo, ROOT_TOLERANCE_S, np.arange(len(t)), iterations=40,
    )  # fmt: skip


def _segments(sat_rows, r, v, t, rows, cols, sta, kind, hidden, stations: _Stations) -> _Segments:
    """Gather the brackets [t[cols], t[cols + 1]] of grid rows into a _Segments."""
    h = t[cols + 1] - t[cols]
    p0 = r[rows, cols] - stations.site[sta]
    p1 = r[rows, cols + 1] - stations.site[sta]
    m0 = v[rows, cols] * h[:, None]
    m1 = v[rows, cols + 1] * h[:, None]
    c = np.stack([p0, m0, 3 * (p1 - p0) - 2 * m0 - m1, 2 * (p0 - p1) + m0 + m1], axis=1)
    return _Segments(sat_rows[rows], sta, kind, hidden, t[cols], h, c, stations)


def _concat(parts: list[_Segments], stations: _Stations) -> _Segments:
    def cat(name):
        return np.concatenate([getattr(p, name) for p in parts])

    return _Segments(cat("sat"), cat("sta"), cat("kind"), cat("hidden"), cat("t0"), cat("h"), cat("c"), stations)


_TABLE = np.dtype(
    [
        ("satellite", np.int64),
        ("station", np.int64),
        ("aos", float),
        ("los", float),
        ("tca", float),
        ("max_elevation_deg", float),
        ("aos_azimuth_deg", float),
        ("los_azimuth_deg", float),
        ("continuous", bool),
        ("cut_at_start", bool),
        ("cut_at_end", bool),
        ("sgp4_end", bool),
    ]
)
_FAILURES = np.dtype([("satellite", np.int64), ("code", np.int64), ("failed_at", float), ("last_valid", float)])


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
    table, failures = _predict_table(
        satrecs, stations, start, end, lookaround_s=lookaround_s, cut_at_window=cut_at_window
    )
    return Prediction(_windows(table, start, end), _failures(failures, start))


def _predict_table(satrecs, stations, start, end, *, lookaround_s=LOOKAROUND_S, cut_at_window=False):
    """`predict` as a structured array (times in seconds from `start`), in AOS order, and the
    SGP4 failures (_FAILURES)."""
    failures = []
    if not satrecs or not stations:
        return np.empty(0, dtype=_TABLE), np.empty(0, dtype=_FAILURES)
    geo = _Stations(stations)
    n_sta = len(stations)
    duration = (end - start).total_seconds()
    jd0, fr0 = (float(a[0]) for a in prop.julian([start]))
    lowest = min(s.min_elevation_deg for s in stations)
    grouped: dict[tuple[float, float], list[int]] = defaultdict(list)
    for i, satrec in enumerate(satrecs):
        step = grid_step_s(satrec)
        grouped[(step, padding_s(satrec, step, lookaround_s, lowest))].append(i)
    # (step, padding, members, grid end): a spacecraft whose SGP4 fails gets its own grid, cut
    # at its last valid time.
    groups = [(step, pad, members, duration + pad) for (step, pad), members in grouped.items()]

    parts: list[_Segments] = []
    edges = []  # (sat, sta, t, +1 open / -1 close, sin el, azimuth): above the threshold at a grid end
    while groups:
        step, pad, members, grid_end = groups.pop()
        t = np.arange(-pad, grid_end, step)
        t = np.append(t[t < grid_end - 1.0], grid_end)
        r, v, errors = _sample([satrecs[i] for i in members], t, jd0, fr0)
        failing = np.flatnonzero(errors.any(axis=1)) if grid_end == duration + pad else np.array([], dtype=int)
        for row in failing:
            first = int(np.argmax(errors[row] != 0))
            code = int(errors[row, first])
            if first == 0:
                failures.append((members[row], code, t[0], np.nan))
                continue
            last = _last_valid_s(satrecs[members[row]], jd0, fr0, t[first - 1], t[first])
            failures.append((members[row], code, last + ROOT_TOLERANCE_S, last))
            if last >= 0 and last > -pad + step:
                groups.append((step, pad, [members[row]], last))
        if len(failing):
            keep = np.setdiff1d(np.arange(len(members)), failing)
            if not len(keep):
                continue
            members = [members[i] for i in keep]
            r, v = r[keep], v[keep]
        sat_rows = np.array(members)
        cut_by_error = grid_end != duration + pad
        perigee_km = np.array([satrecs[i].a * (1 - satrecs[i].ecco) * satrecs[i].radiusearthkm for i in members])
        margin = np.where(perigee_km - prop.WGS84_A_KM < LOW_PERIGEE_KM, LOW_HIDDEN_MARGIN, HIDDEN_MARGIN)
        r2 = np.einsum("ijk,ijk->ij", r, r)
        rv = np.einsum("ijk,ijk->ij", r, v)
        found = []
        for k in range(n_sta):
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
            above = f >= 0  # NaN (SGP4 failed) counts as below
            rising = rate > 0
            a, b = above[:, :-1], above[:, 1:]
            rows, cols = np.nonzero(a != b)
            found.append((rows, cols, k, np.where(b[rows, cols], _RISE, _SET), False))
            rows, cols = np.nonzero(np.greater(rising[:, :-1], rising[:, 1:]))
            hidden = ~above[rows, cols] & ~above[rows, cols + 1]
            # A maximum between two samples below the threshold: only those that may reach it,
            # by the parabola through the end slopes (d sin(el)/dt = rate / |d|³), with a margin.
            slope0 = rate[rows, cols] / (dist2[rows, cols] * np.sqrt(dist2[rows, cols]))
            slope1 = rate[rows, cols + 1] / (dist2[rows, cols + 1] * np.sqrt(dist2[rows, cols + 1]))
            h = (t[cols + 1] - t[cols]) / 2
            reach = np.minimum(f[rows, cols] + h * slope0, f[rows, cols + 1] - h * slope1)
            keep = ~hidden | (reach > -margin[rows])
            found.append((rows[keep], cols[keep], k, _MAX, hidden[keep]))
            rows, cols = np.nonzero(np.less(rising[:, :-1], rising[:, 1:]) & a & b)
            found.append((rows, cols, k, _MIN, False))
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
        sizes = [len(part[0]) for part in found]
        rows, cols, sta, kind, hidden = (
            np.concatenate([np.broadcast_to(x, n) for x, n in zip(column, sizes, strict=True)])
            for column in zip(*found, strict=True)
        )
        parts.append(_segments(sat_rows, r, v, t, rows, cols, sta, kind, hidden, geo))
    failures = np.array(failures, dtype=_FAILURES)
    if not parts:
        return np.empty(0, dtype=_TABLE), failures
    seg = _concat(parts, geo)

    # Maxima (TCA candidates, hidden passes) and dips, then every crossing.
    ext = np.flatnonzero(seg.kind >= _MAX)
    s_ext = seg.solve(seg.extremum, ext, np.zeros(len(ext)), np.ones(len(ext)))
    sin_ext = seg.sin_elevation(s_ext, ext)
    f_ext = sin_ext - seg.threshold[ext]
    # Whether a maximum (dip) just reaches (misses) the threshold is SGP4's to say, not the
    # interpolant's: a pass of a few seconds hinges on metres.
    close = np.flatnonzero(np.abs(f_ext) < CLOSE_CALL)
    if len(close):
        i = ext[close]
        f_ext[close], _ = _exact(satrecs, geo, jd0, fr0, seg.sat[i], seg.sta[i], seg.t0[i] + s_ext[close] * seg.h[i])
        sin_ext[close] = f_ext[close] + seg.threshold[i]
    is_max = seg.kind[ext] == _MAX
    peak = is_max & (f_ext >= 0) & seg.valid[ext]
    hidden = peak & seg.hidden[ext]
    dip = ~is_max & (f_ext < 0) & seg.valid[ext]
    plain = np.flatnonzero(seg.kind <= _SET)
    zeros, ones = np.zeros(len(plain)), np.ones(len(plain))
    cross_idx = np.concatenate([plain, ext[hidden], ext[hidden], ext[dip], ext[dip]])
    cross_kind = np.concatenate(
        [seg.kind[plain], np.full(hidden.sum(), _RISE), np.full(hidden.sum(), _SET)]
        + [np.full(dip.sum(), _SET), np.full(dip.sum(), _RISE)]
    )
    lo = np.concatenate([zeros, np.zeros(hidden.sum()), s_ext[hidden], np.zeros(dip.sum()), s_ext[dip]])
    hi = np.concatenate([ones, s_ext[hidden], np.ones(hidden.sum()), s_ext[dip], np.ones(dip.sum())])
    near = np.abs(f_ext) < CLOSE_CALL
    cross_close = np.concatenate([np.zeros(len(plain), dtype=bool), near[hidden], near[hidden], near[dip], near[dip]])
    s_cross = seg.solve(seg.crossing, cross_idx, lo, hi)
    # A bracket reaching a sample where SGP4 failed (decay): the event is at the last good sample.
    broken = ~seg.valid[cross_idx]
    s_cross[broken] = np.where(cross_kind[broken] == _RISE, 1.0, 0.0)
    # Where the elevation barely changes at the crossing (a grazing pass), metres of interpolation
    # error are a fraction of a second: a few Newton steps on SGP4 itself settle those.
    _, slope = seg.crossing(s_cross, cross_idx)
    weak = np.flatnonzero(~broken & ((np.abs(slope) / seg.h[cross_idx] < GRAZING_RATE_KM_S) | cross_close))
    if len(weak):
        i = cross_idx[weak]
        t0, h = seg.t0[i], seg.h[i]
        t_root = _polish(
            satrecs,
            geo,
            jd0,
            fr0,
            seg.sat[i],
            seg.sta[i],
            cross_kind[weak] == _RISE,
            t0 + s_cross[weak] * h,
            t0 + lo[weak] * h,
            t0 + hi[weak] * h,
        )
        s_cross[weak] = (t_root - t0) / h
    cross_az = np.full(len(cross_idx), np.nan)
    good = ~broken
    cross_az[good] = geo.azimuth_deg(seg.vector(s_cross[good], cross_idx[good]), seg.sta[cross_idx[good]])

    # Events per (satellite, station), in time order: a window from each rise to the next set.
    edge = [np.concatenate(x) for x in zip(*edges, strict=True)] if edges else [np.array([])] * 7
    event_sat = np.concatenate([seg.sat[cross_idx], edge[0]]).astype(int)
    event_sta = np.concatenate([seg.sta[cross_idx], edge[1]]).astype(int)
    event_t = np.concatenate([seg.t0[cross_idx] + s_cross * seg.h[cross_idx], edge[2]])
    event_dir = np.concatenate([np.where(cross_kind == _RISE, 1, -1), edge[3]]).astype(int)
    event_sin = np.concatenate([seg.threshold[cross_idx], edge[4]])
    event_az = np.concatenate([cross_az, edge[5]])
    event_sgp4_end = np.concatenate([np.zeros(len(cross_idx), dtype=bool), edge[6].astype(bool)])
    event_continuous = np.concatenate([np.zeros(len(cross_idx), dtype=bool), np.ones(len(edge[0]), dtype=bool)])
    event_continuous &= ~event_sgp4_end
    event_pair = event_sat * n_sta + event_sta
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
    opens, closes = opens[overlaps], closes[overlaps]
    if not len(opens):
        return np.empty(0, dtype=_TABLE), failures
    pair = event_pair[opens]
    aos, los = event_t[opens], event_t[closes]

    # TCA: the highest maximum inside each window; without one, the higher end of the window.
    tca = np.where(event_sin[opens] >= event_sin[closes], aos, los)
    sin_max = np.maximum(event_sin[opens], event_sin[closes])
    c_idx = ext[peak]
    c_pair = seg.sat[c_idx] * n_sta + seg.sta[c_idx]
    c_t = seg.t0[c_idx] + s_ext[peak] * seg.h[c_idx]
    c_sin = sin_ext[peak]
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

    table = np.empty(len(pair), dtype=_TABLE)
    table["satellite"], table["station"] = pair // n_sta, pair % n_sta
    table["aos"], table["los"], table["tca"], table["max_elevation_deg"] = aos, los, tca, max_el
    table["aos_azimuth_deg"], table["los_azimuth_deg"] = event_az[opens], event_az[closes]
    table["continuous"] = event_continuous[opens] | event_continuous[closes]
    table["sgp4_end"] = event_sgp4_end[closes]
    table["cut_at_start"] = table["cut_at_end"] = False
    _cut(table, satrecs, geo, jd0, fr0, duration, everything=cut_at_window)
    finite = np.ones(len(table), dtype=bool)
    for name in ("aos", "los", "tca", "max_elevation_deg", "aos_azimuth_deg", "los_azimuth_deg"):
        finite &= np.isfinite(table[name])
    table = table[finite]  # never a NaN: a window SGP4 could not settle is left out
    return table[np.argsort(table["aos"], kind="stable")], failures


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
        sin_el, azimuth = _look(
            satrecs, geo, jd0, fr0, table["satellite"][rows], table["station"][rows], np.full(len(rows), edge)
        )
        table[time_name][rows] = edge
        table[az_name][rows] = azimuth
        table[flag][rows] = True
        # TCA outside the window: the elevation falls (rises) all the way from (to) this edge.
        moved = (table["tca"][rows] < edge) if edge == 0.0 else (table["tca"][rows] > edge)
        table["tca"][rows[moved]] = edge
        table["max_elevation_deg"][rows[moved]] = np.rad2deg(np.arcsin(np.clip(sin_el[moved], -1, 1)))


def _windows(table: np.ndarray, start: datetime, end: datetime) -> list[PassWindow]:
    epoch_s = start.timestamp()

    def when(seconds: np.ndarray) -> list[datetime]:
        return [datetime.fromtimestamp(x, UTC) for x in (np.round((epoch_s + seconds) * 1e3) / 1e3).tolist()]

    columns = zip(
        table["satellite"].tolist(),
        table["station"].tolist(),
        when(table["aos"]),
        when(table["los"]),
        when(table["tca"]),
        table["max_elevation_deg"].tolist(),
        table["aos_azimuth_deg"].tolist(),
        table["los_azimuth_deg"].tolist(),
        table["continuous"].tolist(),
        table["cut_at_start"].tolist(),
        table["cut_at_end"].tolist(),
        table["sgp4_end"].tolist(),
        strict=True,
    )
    windows = [PassWindow(*c) for c in columns]
    for w in windows:  # a window cut at an edge ends exactly there, not at the millisecond
        w.aos = start if w.cut_at_start else w.aos
        w.los = end if w.cut_at_end else w.los
        w.tca = min(max(w.tca, w.aos), w.los)
    return windows


def _failures(failures: np.ndarray, start: datetime) -> dict[int, SGP4Failure]:
    epoch_s = start.timestamp()

    def when(seconds: float) -> datetime | None:
        return None if not np.isfinite(seconds) else datetime.fromtimestamp(round(epoch_s + seconds, 3), UTC)

    return {
        int(f["satellite"]): SGP4Failure(int(f["code"]), when(f["failed_at"]), when(f["last_valid"])) for f in failures
    }


def _predict_chunk(lines, stations, start, end):
    return _predict_table([prop.satrec_from_lines(a, b) for a, b in lines], stations, start, end)


def predict_lines(
    lines: list[tuple[str, str]], stations: list[Station], start: datetime, end: datetime, *, processes: int = 2
) -> list[PassWindow]:
    """`predict` for TLE line pairs, the satellites dealt across `processes` worker processes
    (the SGP4 core holds the GIL) when there are enough of them."""
    return prediction_lines(lines, stations, start, end, processes=processes).windows


def prediction_lines(
    lines: list[tuple[str, str]], stations: list[Station], start: datetime, end: datetime, *, processes: int = 2
) -> Prediction:
    """`prediction` for TLE line pairs, across `processes` processes when there are enough
    satellite × station pairs. Workers send back plain arrays; the windows are made here."""
    if processes <= 1 or len(lines) * len(stations) < PARALLEL_MIN_PAIRS:
        return prediction([prop.satrec_from_lines(a, b) for a, b in lines], stations, start, end)
    pool = prop.get_pool(processes - 1)
    # Dealt round-robin, so a catalogue sorted by orbit class still splits evenly; this process
    # computes the first share while the workers compute the others.
    shares = [np.arange(p, len(lines), processes) for p in range(processes)]
    futures = [pool.submit(_predict_chunk, [lines[i] for i in share], stations, start, end) for share in shares[1:]]
    results = [_predict_chunk([lines[i] for i in shares[0]], stations, start, end)]
    results += [future.result() for future in futures]
    for share, (table, failures) in zip(shares, results, strict=True):
        table["satellite"] = share[table["satellite"]]
        failures["satellite"] = share[failures["satellite"]]
    table = np.concatenate([table for table, _ in results])
    failures = np.concatenate([failures for _, failures in results])
    return Prediction(_windows(table[np.argsort(table["aos"], kind="stable")], start, end), _failures(failures, start))
