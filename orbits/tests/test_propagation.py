"""Propagation against the Vallado verification set and against skyfield."""

from datetime import UTC, datetime, timedelta
from importlib.resources import files

import numpy as np
from sgp4.api import Satrec

from orbits import geojson
from orbits import propagation as prop


def _vallado_cases():
    tles = [
        line for line in files("sgp4").joinpath("SGP4-VER.TLE").read_text().splitlines() if line[:2] in ("1 ", "2 ")
    ]
    satrecs = {}
    for line1, line2 in zip(tles[::2], tles[1::2], strict=True):
        sat = Satrec.twoline2rv(line1[:69], line2[:69])
        satrecs[sat.satnum] = sat
    cases, current = {}, None
    for line in files("sgp4").joinpath("tcppver.out").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "xx":
            current = int(parts[0])
            cases[current] = []
        elif parts and current is not None:
            cases[current].append([float(x) for x in parts[:4]])
    return satrecs, cases


def test_vallado_verification_through_the_pipeline_under_one_metre():
    satrecs, cases = _vallado_cases()
    checked, worst = 0, 0.0
    for satnum, rows in cases.items():
        rows = np.array(rows)
        sat = satrecs[satnum]
        whole, fraction = np.divmod(rows[:, 0] / 1440.0, 1.0)
        jd, fr = sat.jdsatepoch + whole, sat.jdsatepochF + fraction
        error, r, _ = prop.propagate_teme([sat], jd, fr)
        ok = error[0] == 0
        if not ok.any():
            continue
        worst = max(worst, float(np.abs(r[0, ok] - rows[ok, 1:4]).max()))
        checked += int(ok.sum())
    assert checked > 500
    assert worst * 1000 < 1.0, f"worst position error {worst * 1000:.4f} m"


def test_geodetic_and_sunlit_agree_with_skyfield():
    from skyfield.api import EarthSatellite, load, wgs84

    line1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
    line2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
    start = datetime(2008, 9, 20, 12, tzinfo=UTC)
    times = prop.time_grid(start, start + timedelta(hours=3), 300)
    track = prop.track([prop.satrec_from_lines(line1, line2)], times, velocity=True, sun=True)
    ts = load.timescale(builtin=True)
    sat = EarthSatellite(line1, line2, "ISS", ts)
    t = ts.from_datetimes([prop.to_datetime(x) for x in times])
    sub = wgs84.geographic_position_of(sat.at(t))
    assert np.abs(track.latitude_deg[0] - sub.latitude.degrees).max() < 0.01
    dlon = (track.longitude_deg[0] - sub.longitude.degrees + 180) % 360 - 180
    assert np.abs(dlon).max() < 0.01
    assert np.abs(track.altitude_km[0] - sub.elevation.km).max() < 0.1
    assert track.speed_km_s.min() > 7.5 and track.speed_km_s.max() < 7.9
    assert 0.5 < track.sunlit.mean() < 0.8  # roughly 60 % of a low orbit is in sunlight


def test_geodetic_round_trip_from_ground_to_geo():
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(2000, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    for height in (0.0, 500.0, 20200.0, 35786.0):
        points = directions * (prop.WGS84_A_KM + height)
        lat, lon, alt = prop.geodetic(points)
        assert np.abs(prop.geodetic_to_ecef(lat, lon, alt) - points).max() < 0.0003  # 30 cm


def test_parallel_pipeline_matches_one_process():
    line1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
    line2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
    times = prop.time_grid(datetime(2008, 9, 20, tzinfo=UTC), datetime(2008, 9, 20, 6, tzinfo=UTC), 60)
    one = prop.propagate_geodetic([(line1, line2)] * 64, times, processes=1)
    old, prop.PARALLEL_MIN_POINTS = prop.PARALLEL_MIN_POINTS, 0
    try:
        two = prop.propagate_geodetic([(line1, line2)] * 64, times, processes=2)
    finally:
        prop.PARALLEL_MIN_POINTS = old
    assert np.array_equal(one, two)


def test_ground_track_splits_at_the_antimeridian():
    lines = geojson.split_antimeridian([0, 1, 2, 3], [170, 178, -176, -170])
    assert len(lines) == 2
    assert lines[0][-1][0] == 180.0 and lines[1][0][0] == -180.0
    assert lines[0][-1][1] == lines[1][0][1]
