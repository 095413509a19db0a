"""SGP4 on the pass search's grid: the step and padding suited to each orbit, the stations' local
frames, the grid samples, and SGP4 evaluated directly where the interpolant is not enough."""

import math

import numpy as np
from sgp4.api import Satrec

from .. import propagation as prop
from .windows import Station

STEP_TOLERANCE_KM = 0.05  # Hermite interpolation error allowed between two grid samples
STEPS_S = (30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 360.0, 480.0)
ROOT_TOLERANCE_S = 1e-3


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


class StationGeometry:
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


def sample_grid(satrecs: list[Satrec], t: np.ndarray, jd0: float, fr0: float):
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


def last_valid_s(satrec: Satrec, jd0: float, fr0: float, good: float, bad: float) -> float:
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


def sgp4_look(satrecs, geo: "StationGeometry", jd0, fr0, sat, sta, t):
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


def sgp4_crossing(satrecs, geo: StationGeometry, jd0, fr0, sat, sta, t):
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
