"""Root finding between grid samples: the cubic Hermite interpolant of the station-to-spacecraft
vector on each bracket, and safeguarded Newton on it (or on SGP4 itself for grazing crossings)."""

import numpy as np

from .sampling import ROOT_TOLERANCE_S, StationGeometry, sgp4_crossing


def horner(coefficients: np.ndarray, s: np.ndarray):
    """Value and first two derivatives in s of polynomials (k, degree + 1), lowest power first."""
    p = coefficients[:, -1].copy()
    dp = np.zeros_like(p)
    ddp = np.zeros_like(p)
    for i in range(coefficients.shape[1] - 2, -1, -1):
        ddp = ddp * s + 2 * dp
        dp = dp * s + p
        p = p * s + coefficients[:, i]
    return p, dp, ddp


class Segments:
    """Brackets between two grid samples: the vector d from the station to the spacecraft as a
    cubic in s = (t - t0) / h, s in [0, 1]; its projection on the station's up (a cubic) and
    its squared length (a sextic) as scalar polynomials, for sin(el) = d·up / |d|."""

    def __init__(self, sat, sta, kind, hidden, t0, h, c, stations: StationGeometry):
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
        n, _, _ = horner(self.along_up[idx], s)
        d2, _, _ = horner(self.length2[idx], s)
        return n / np.sqrt(d2)

    def crossing(self, s, idx):
        """sin(el) - threshold, times |d| (same sign, smoother), and its s-derivative."""
        n, dn, _ = horner(self.along_up[idx], s)
        d2, dd2, _ = horner(self.length2[idx], s)
        rho = np.sqrt(d2)
        threshold = self.threshold[idx]
        return n - threshold * rho, dn - threshold * dd2 / (2 * rho)

    def extremum(self, s, idx):
        """d sin(el)/ds times |d|³ (same sign), and its s-derivative."""
        n, dn, ddn = horner(self.along_up[idx], s)
        d2, dd2, ddd2 = horner(self.length2[idx], s)
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
        return safeguarded_newton(
            lambda xa, rows: function(xa, idx[rows]), x, lo, hi, sign_lo, tolerance, active, iterations=60
        )


def safeguarded_newton(evaluate, x, lo, hi, sign_lo, tolerance, active, *, iterations: int) -> np.ndarray:
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


def polish_on_sgp4(satrecs, geo, jd0, fr0, sat, sta, rise, t, lo, hi) -> np.ndarray:
    """Roots of sin(el) - sin(min el) straight on SGP4 from first guesses t in brackets [lo, hi]
    (below the threshold at lo for a rise, at hi for a set): safeguarded Newton, to
    ROOT_TOLERANCE_S."""
    t, lo, hi = t.copy(), lo.copy(), hi.copy()
    inside = (t > lo) & (t < hi)
    t[~inside] = 0.5 * (lo + hi)[~inside]
    sign_lo = np.where(rise, -1.0, 1.0)  # below the threshold before a rise, above before a set
    return safeguarded_newton(
        lambda ta, rows: sgp4_crossing(satrecs, geo, jd0, fr0, sat[rows], sta[rows], ta),
        t, lo, hi, sign_lo, ROOT_TOLERANCE_S, np.arange(len(t)), iterations=40,
    )  # fmt: skip


def segments_between(sat_rows, r, v, t, rows, cols, sta, kind, hidden, stations: StationGeometry) -> Segments:
    """Gather the brackets [t[cols], t[cols + 1]] of grid rows into a Segments."""
    h = t[cols + 1] - t[cols]
    p0 = r[rows, cols] - stations.site[sta]
    p1 = r[rows, cols + 1] - stations.site[sta]
    m0 = v[rows, cols] * h[:, None]
    m1 = v[rows, cols + 1] * h[:, None]
    c = np.stack([p0, m0, 3 * (p1 - p0) - 2 * m0 - m1, 2 * (p0 - p1) + m0 + m1], axis=1)
    return Segments(sat_rows[rows], sta, kind, hidden, t[cols], h, c, stations)


def concat_segments(parts: list[Segments], stations: StationGeometry) -> Segments:
    def cat(name):
        return np.concatenate([getattr(p, name) for p in parts])

    return Segments(cat("sat"), cat("sta"), cat("kind"), cat("hidden"), cat("t0"), cat("h"), cat("c"), stations)
