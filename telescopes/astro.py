"""Pointing geometry: sidereal time, precession between equatorial frames, RA/Dec <-> Alt/Az, and
the topocentric track of a spacecraft seen from an observatory.

Accuracy is what pointing a telescope needs (arcseconds to an arcminute): IAU 1976 precession,
no nutation (under 20"), no refraction (Alt/Az are geometric, as orbits' passes are), UTC for UT1.
The spacecraft track reuses orbits.propagation (SGP4 -> TEME -> Earth-fixed) so it agrees with
the pass predictions by construction.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from orbits import propagation as prop

J2000_JD = 2451545.0


class EquatorialSystem:
    """ASCOM EquatorialCoordinateType values."""

    OTHER, TOPOCENTRIC, J2000, J2050, B1950 = 0, 1, 2, 3, 4
    EPOCH_JD = {J2000: J2000_JD, J2050: J2000_JD + 50 * 365.25, B1950: 2433282.4235}
    NAMES = {OTHER: "other", TOPOCENTRIC: "topocentric (JNow)", J2000: "J2000", J2050: "J2050", B1950: "B1950"}


def julian_date(when: datetime) -> float:
    jd, fr = prop.julian([when])
    return float(jd[0] + fr[0])


def local_sidereal_time_rad(when: datetime, longitude_deg: float) -> float:
    jd, fr = prop.julian([when])
    return float(np.mod(prop.gmst_rad(jd, fr)[0] + np.deg2rad(longitude_deg), 2 * np.pi))


def _rz(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _ry(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def precession_matrix(jd: float) -> np.ndarray:
    """IAU 1976 precession: mean J2000 vectors -> mean equator and equinox of `jd`."""
    t = (jd - J2000_JD) / 36525.0
    arcsec = np.deg2rad(1 / 3600)
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * arcsec
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * arcsec
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * arcsec
    return _rz(-z) @ _ry(theta) @ _rz(-zeta)


def _unit(ra_hours: float, dec_deg: float) -> np.ndarray:
    ra, dec = np.deg2rad(ra_hours * 15.0), np.deg2rad(dec_deg)
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _radec(vector: np.ndarray) -> tuple[float, float]:
    x, y, z = vector / np.linalg.norm(vector)
    return float(np.mod(np.rad2deg(np.arctan2(y, x)) / 15.0, 24.0)), float(np.rad2deg(np.arcsin(np.clip(z, -1, 1))))


def epoch_jd(system: int, when: datetime) -> float:
    """The equinox a device's equatorial system refers to. `Other` is taken as of date: a mount
    that does not say works in the coordinates it shows, which are those of the sky now."""
    return EquatorialSystem.EPOCH_JD.get(system, julian_date(when))


def convert_radec(ra_hours: float, dec_deg: float, *, from_jd: float, to_jd: float) -> tuple[float, float]:
    """Mean RA/Dec at equinox `from_jd` -> equinox `to_jd`."""
    vector = precession_matrix(to_jd) @ precession_matrix(from_jd).T @ _unit(ra_hours, dec_deg)
    return _radec(vector)


def altaz_of_date(ra_hours: float, dec_deg: float, *, latitude_deg: float, longitude_deg: float, when: datetime):
    """(altitude, azimuth) in degrees of RA/Dec of date; azimuth from north through east."""
    hour_angle = local_sidereal_time_rad(when, longitude_deg) - np.deg2rad(ra_hours * 15.0)
    lat, dec = np.deg2rad(latitude_deg), np.deg2rad(dec_deg)
    sin_alt = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(hour_angle)
    alt = np.arcsin(np.clip(sin_alt, -1, 1))
    az = np.arctan2(
        -np.cos(dec) * np.sin(hour_angle), np.sin(dec) * np.cos(lat) - np.cos(dec) * np.sin(lat) * np.cos(hour_angle)
    )
    return float(np.rad2deg(alt)), float(np.mod(np.rad2deg(az), 360.0))


def radec_of_date(alt_deg: float, az_deg: float, *, latitude_deg: float, longitude_deg: float, when: datetime):
    """Inverse of `altaz_of_date`: (RA hours, Dec degrees) of date."""
    alt, az, lat = np.deg2rad(alt_deg), np.deg2rad(az_deg), np.deg2rad(latitude_deg)
    sin_dec = np.sin(lat) * np.sin(alt) + np.cos(lat) * np.cos(alt) * np.cos(az)
    dec = np.arcsin(np.clip(sin_dec, -1, 1))
    hour_angle = np.arctan2(
        -np.sin(az) * np.cos(alt), np.sin(alt) * np.cos(lat) - np.cos(alt) * np.sin(lat) * np.cos(az)
    )
    ra = local_sidereal_time_rad(when, longitude_deg) - hour_angle
    return float(np.mod(np.rad2deg(ra) / 15.0, 24.0)), float(np.rad2deg(dec))


def separation_deg(alt1: float, az1: float, alt2: float, az2: float) -> float:
    """Great-circle angle between two horizon directions."""
    a1, a2 = np.deg2rad(alt1), np.deg2rad(alt2)
    cos_sep = np.sin(a1) * np.sin(a2) + np.cos(a1) * np.cos(a2) * np.cos(np.deg2rad(az1 - az2))
    return float(np.rad2deg(np.arccos(np.clip(cos_sep, -1, 1))))


@dataclass
class SatelliteTrack:
    times: np.ndarray  # datetime64[us]
    altitude_deg: np.ndarray
    azimuth_deg: np.ndarray
    ra_hours: np.ndarray  # topocentric, equator and equinox of date
    dec_deg: np.ndarray
    range_km: np.ndarray

    def rows(self) -> list[list]:
        return [
            [
                prop.to_datetime(t).isoformat(),
                round(float(alt), 4),
                round(float(az), 4),
                round(float(ra), 5),
                round(float(dec), 4),
            ]
            for t, alt, az, ra, dec in zip(
                self.times, self.altitude_deg, self.azimuth_deg, self.ra_hours, self.dec_deg, strict=True
            )
        ]


def satellite_track(
    line1: str, line2: str, *, latitude_deg: float, longitude_deg: float, altitude_m: float, times
) -> SatelliteTrack:
    """Topocentric Alt/Az and RA/Dec of a spacecraft from an observer at datetime64 `times`."""
    times = np.atleast_1d(np.asarray(times, dtype="datetime64[us]"))
    jd, fr = prop.julian(times)
    error, r_teme, _ = prop.satrec_from_lines(line1, line2).sgp4_array(jd, fr)
    r_teme = np.where((error != 0)[:, None], np.nan, r_teme)
    theta = prop.gmst_rad(jd, fr)
    r_ecef = prop.teme_to_ecef(r_teme, theta)
    site = prop.geodetic_to_ecef(latitude_deg, longitude_deg, altitude_m / 1000.0)
    phi, lam = np.deg2rad(latitude_deg), np.deg2rad(longitude_deg)
    up = np.array([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    east = np.array([-np.sin(lam), np.cos(lam), 0.0])
    north = np.array([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
    d = r_ecef - site
    distance = np.linalg.norm(d, axis=-1)
    altitude = np.rad2deg(np.arcsin(np.clip(d @ up / distance, -1, 1)))
    azimuth = np.mod(np.rad2deg(np.arctan2(d @ east, d @ north)), 360.0)
    # Topocentric RA/Dec: the same line of sight in the rotating-back (TEME ~ of date) frame.
    c, s = np.cos(theta), np.sin(theta)
    x, y = d[:, 0], d[:, 1]
    xi, yi = c * x - s * y, s * x + c * y
    ra = np.mod(np.rad2deg(np.arctan2(yi, xi)) / 15.0, 24.0)
    dec = np.rad2deg(np.arcsin(np.clip(d[:, 2] / distance, -1, 1)))
    return SatelliteTrack(times, altitude, azimuth, ra, dec, distance)


def now_utc() -> datetime:
    return datetime.now(UTC)
