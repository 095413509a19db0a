"""Access windows, vectorized: when each target (or station) sees each spacecraft above its
minimum elevation, in daylight when asked, over a time grid. Built on the orbits app's
propagation functions (SGP4 over SatrecArray, GMST rotation, the analytic Sun).

A cheap prefilter (one matrix product: the angle between the target and the sub-satellite
direction against the widest angle the elevation mask allows) picks the few (target, spacecraft,
time) samples worth the exact elevation; runs of consecutive visible samples become windows."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from orbits import propagation as prop

DEFAULT_STEP_S = 10.0
EARTH_POLAR_KM = prop.WGS84_B_KM
TIME_CHUNK = 4096
PREFILTER_S = 60.0
# Fastest drift of a sub-satellite point across the ground (LEO orbital rate plus the Earth's
# rotation, deg/s), with a margin: what widens the prefilter between its samples.
MAX_GROUND_RATE_DEG_S = 0.075


@dataclass
class Sites:
    """Ground points: targets or stations. `min_sun_deg` None means any light."""

    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    min_elevation_deg: np.ndarray
    min_sun_deg: np.ndarray | None = None

    @classmethod
    def of(cls, points: list[tuple[float, float, float, float | None]]) -> "Sites":
        """From (latitude, longitude, minimum elevation, minimum Sun elevation or None)."""
        array = np.array([[p[0], p[1], p[2], -90.0 if p[3] is None else p[3]] for p in points], dtype=float)
        array = array.reshape(-1, 4)
        return cls(array[:, 0], array[:, 1], array[:, 2], array[:, 3])


@dataclass
class Fleet:
    """Positions of n_sat spacecraft on a time grid, Earth-fixed (km), with their light."""

    start: datetime
    step_s: float
    seconds: np.ndarray  # (n_t,) from start
    ecef: np.ndarray  # (n_sat, n_t, 3), NaN where SGP4 failed or the element set is too old
    sunlit: np.ndarray  # (n_sat, n_t) bool
    sun_ecef: np.ndarray  # (n_t, 3) unit vectors to the Sun


@dataclass
class Windows:
    """One row per window: site, spacecraft, start/end/tca seconds from the grid start, peak elevation."""

    site: np.ndarray
    spacecraft: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    tca_s: np.ndarray
    max_elevation_deg: np.ndarray

    def __len__(self) -> int:
        return len(self.site)


def propagate_fleet(
    lines: list[tuple[str, str]],
    start: datetime,
    horizon_s: float,
    *,
    step_s: float = DEFAULT_STEP_S,
    epochs: list[datetime] | None = None,
    max_age: timedelta | None = None,
) -> Fleet:
    """Propagate every element set over [start, start + horizon]. With `epochs` and `max_age`,
    samples further than `max_age` from their element set's epoch are blanked (NaN): a window
    is never predicted from an element set too old to trust."""
    times = prop.time_grid(start, start + timedelta(seconds=horizon_s), step_s)
    seconds = (times - times[0]).astype("timedelta64[us]").astype(np.int64) / 1e6
    jd, fr = prop.julian(times)
    theta = prop.gmst_rad(jd, fr)
    sun = prop.sun_direction(jd, fr)
    n_t = len(times)
    ecef = np.full((len(lines), n_t, 3), np.nan)
    sunlit = np.zeros((len(lines), n_t), dtype=bool)
    if lines:
        error, r, _ = prop.propagate_teme([prop.satrec_from_lines(a, b) for a, b in lines], jd, fr)
        ecef[:] = prop.teme_to_ecef(r, theta)
        sunlit[:] = prop.sunlit(r, sun)
        ecef[error != 0] = np.nan
        if epochs is not None and max_age is not None:
            for i, epoch in enumerate(epochs):
                offset_s = (epoch - start).total_seconds()
                stale = np.abs(seconds - offset_s) > max_age.total_seconds()
                ecef[i, stale] = np.nan
    sun_ecef = prop.teme_to_ecef(sun[None, :, :], theta)[0]
    return Fleet(start, step_s, seconds, ecef, sunlit, sun_ecef)


def _site_frames(sites: Sites):
    lat, lon = np.deg2rad(sites.latitude_deg), np.deg2rad(sites.longitude_deg)
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    return prop.geodetic_to_ecef(sites.latitude_deg, sites.longitude_deg, 0.0), up


def windows(fleet: Fleet, sites: Sites) -> Windows:
    """Every window in which a site sees a spacecraft at or above its minimum elevation (and, for
    sites with a minimum Sun elevation, while the Sun is at least that high at the site).
    Window bounds are grid samples: a window is never longer than the truth by more than nothing,
    and shorter by under one step at each end."""
    n_sat, n_t = fleet.ecef.shape[:2]
    if n_sat == 0 or len(sites.latitude_deg) == 0:
        return _empty()
    site_ecef, up = _site_frames(sites)
    # The widest Earth-central angle at which a spacecraft can be above the mask, per site.
    radius = np.nanmax(np.linalg.norm(fleet.ecef, axis=-1)) if np.isfinite(fleet.ecef).any() else 0.0
    if radius == 0.0:
        return _empty()
    mask = np.deg2rad(np.clip(sites.min_elevation_deg, 0.0, 89.9))
    central = np.arccos(np.clip(EARTH_POLAR_KM * np.cos(mask) / radius, -1, 1)) - mask + np.deg2rad(0.5)
    sin_mask = np.sin(np.deg2rad(sites.min_elevation_deg))
    sin_sun = np.sin(np.deg2rad(sites.min_sun_deg)) if sites.min_sun_deg is not None else None
    site_unit = site_ecef / np.linalg.norm(site_ecef, axis=-1, keepdims=True)
    # The prefilter looks at every `stride`-th sample with the angle widened by how far the
    # sub-satellite point moves in half a stride; the samples around each hit get the exact test.
    stride = max(1, int(round(PREFILTER_S / fleet.step_s)))
    half = stride // 2
    widen = np.deg2rad(MAX_GROUND_RATE_DEG_S * half * fleet.step_s)
    cos_coarse = np.cos(np.minimum(central + widen, np.pi))
    coarse = np.arange(0, n_t, stride)
    offsets = np.arange(-half, half + 1)
    keys, elevations = [], []
    for si in range(n_sat):
        positions = fleet.ecef[si]
        norms = np.linalg.norm(positions[coarse], axis=-1)
        with np.errstate(invalid="ignore"):
            units = positions[coarse] / norms[:, None]
        units = np.nan_to_num(units, nan=0.0)  # failed samples: a zero vector passes no test
        for c0 in range(0, len(coarse), TIME_CHUNK):
            block = slice(c0, min(len(coarse), c0 + TIME_CHUNK))
            near = site_unit @ units[block].T >= cos_coarse[:, None]
            site_idx, c_idx = np.nonzero(near)
            if not len(site_idx):
                continue
            fine = (coarse[c_idx + c0][:, None] + offsets[None, :]).ravel()
            site_idx = np.repeat(site_idx, len(offsets))
            inside = (fine >= 0) & (fine < n_t)
            site_idx, t_idx = site_idx[inside], fine[inside]
            rel = positions[t_idx] - site_ecef[site_idx]
            with np.errstate(invalid="ignore"):
                sin_el = np.einsum("ij,ij->i", rel, up[site_idx]) / np.linalg.norm(rel, axis=-1)
                ok = sin_el >= sin_mask[site_idx]
            if sin_sun is not None:
                sun_up = np.einsum("ij,ij->i", fleet.sun_ecef[t_idx], up[site_idx])
                ok &= sun_up >= sin_sun[site_idx]
            site_idx, t_idx, sin_el = site_idx[ok], t_idx[ok], sin_el[ok]
            keys.append((site_idx.astype(np.int64) * n_sat + si) * n_t + t_idx)
            elevations.append(sin_el)
    if not keys:
        return _empty()
    key, first = np.unique(np.concatenate(keys), return_index=True)  # sorted, each sample once
    sin_el = np.concatenate(elevations)[first]
    starts = np.flatnonzero(np.diff(key, prepend=key[0] - 2) != 1)
    ends = np.append(starts[1:], len(key)) - 1
    pair, t_first = np.divmod(key[starts], n_t)
    t_last = key[ends] % n_t
    peak = np.maximum.reduceat(sin_el, starts)
    # The sample of the peak: the first sample of each run that reaches its run's maximum.
    run_of = np.repeat(np.arange(len(starts)), ends - starts + 1)
    at_peak = np.flatnonzero(sin_el == peak[run_of])
    first_peak = at_peak[np.unique(run_of[at_peak], return_index=True)[1]]
    seconds = fleet.seconds
    return Windows(
        site=pair // n_sat,
        spacecraft=pair % n_sat,
        start_s=seconds[t_first],
        end_s=seconds[t_last],
        tca_s=seconds[key[first_peak] % n_t],
        max_elevation_deg=np.rad2deg(np.arcsin(np.clip(peak, -1, 1))),
    )


def light_segments(fleet: Fleet, spacecraft: int) -> list[tuple[int, int, bool]]:
    """(start_s, end_s, sunlit) runs of one spacecraft over the grid, covering all of it. A
    sample the element set cannot cover counts as eclipse (the cautious side for energy)."""
    flags = fleet.sunlit[spacecraft] & np.isfinite(fleet.ecef[spacecraft, :, 0])
    seconds = fleet.seconds
    changes = np.flatnonzero(np.diff(flags.astype(np.int8)) != 0) + 1
    bounds = [0, *changes.tolist(), len(flags) - 1]
    segments = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        if seconds[b] > seconds[a]:
            segments.append((int(seconds[a]), int(seconds[b]), bool(flags[a])))
    if not segments:
        segments.append((0, int(seconds[-1]), bool(flags[0])))
    return segments


def _empty() -> Windows:
    nothing = np.zeros(0)
    return Windows(nothing.astype(np.int64), nothing.astype(np.int64), nothing, nothing, nothing, nothing)
