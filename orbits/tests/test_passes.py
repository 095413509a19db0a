"""Pass times against skyfield's find_events for a mixed set over several stations."""

from datetime import UTC, datetime, timedelta

import pytest

from orbits import passes, tle_format

STATIONS = {
    "Svalbard": (78.2298, 15.4078, 458, 5),
    "Fairbanks": (64.8587, -147.8576, 300, 5),
    "Wallops": (37.9402, -75.4664, 10, 0),
    "Hartebeesthoek": (-25.8872, 27.7075, 1555, 10),
    "Tokyo": (35.68, 139.77, 40, 5),
}
START = datetime(2024, 3, 20, 6, tzinfo=UTC)
END = START + timedelta(days=1)


@pytest.fixture(scope="module")
def predicted():
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "mixed.tle").read_text()
    sets = tle_format.parse(text).element_sets
    stations = [passes.Station(*v) for v in STATIONS.values()]
    return sets, passes.predict([e.satrec for e in sets], stations, START, END)


def test_pass_times_and_max_elevation_match_skyfield(predicted):
    from skyfield.api import EarthSatellite, load, wgs84

    sets, windows = predicted
    ts = load.timescale(builtin=True)
    worst_aos = worst_los = worst_el = 0.0
    compared = 0
    for i, element_set in enumerate(sets):
        sat = EarthSatellite(element_set.line1, element_set.line2, element_set.object_name, ts)
        for k, (lat, lon, alt, min_el) in enumerate(STATIONS.values()):
            site = wgs84.latlon(lat, lon, elevation_m=alt)
            times, events = sat.find_events(
                site, ts.from_datetime(START), ts.from_datetime(END), altitude_degrees=min_el
            )
            rises = [t.utc_datetime() for t, e in zip(times, events, strict=True) if e == 0]
            sets_ = [t.utc_datetime() for t, e in zip(times, events, strict=True) if e == 2]
            ours = [w for w in windows if w.satellite == i and w.station == k]
            our_rises = [w.aos for w in ours if not w.continuous and w.aos >= START]
            our_sets = [w.los for w in ours if not w.continuous and w.los <= END]
            assert len(rises) == len(our_rises), (element_set.object_name, k)
            assert len(sets_) == len(our_sets), (element_set.object_name, k)
            for a, b in zip(rises + sets_, our_rises + our_sets, strict=True):
                delta = abs((a - b).total_seconds())
                if a in rises:
                    worst_aos = max(worst_aos, delta)
                else:
                    worst_los = max(worst_los, delta)
            for w in ours:
                if w.continuous:
                    continue
                # skyfield's own culmination within our pass, and its altitude at our TCA
                t2, e2 = sat.find_events(
                    site, ts.from_datetime(w.aos), ts.from_datetime(w.los), altitude_degrees=min_el
                )
                peaks = [(sat - site).at(t).altaz()[0].degrees for t, e in zip(t2, e2, strict=True) if e == 1]
                if peaks:
                    worst_el = max(worst_el, abs(max(peaks) - w.max_elevation_deg))
                compared += 1
    assert compared > 50
    assert worst_aos <= 1.0 and worst_los <= 1.0, (worst_aos, worst_los)
    assert worst_el <= 0.1, worst_el


def test_geo_over_a_station_is_one_continuous_pass(predicted):
    sets, windows = predicted
    geo = [i for i, e in enumerate(sets) if e.norad_id == 90004][0]
    hartebeesthoek = list(STATIONS).index("Hartebeesthoek")
    (window,) = [w for w in windows if w.satellite == geo and w.station == hartebeesthoek]
    # Cut at the window, not at the lookaround around it.
    assert window.continuous and window.aos == START and window.los == END
    assert window.cut_at_start and window.cut_at_end and START <= window.tca <= END
    assert 0 <= window.aos_azimuth_deg < 360 and 0 < window.max_elevation_deg < 90


def test_pass_in_progress_at_the_start_keeps_its_true_aos(predicted):
    sets, windows = predicted
    leo = [w for w in windows if w.satellite == 0 and not w.continuous]
    target = leo[3]
    middle = target.aos + (target.los - target.aos) / 2
    (again,) = [
        w
        for w in passes.predict(
            [sets[0].satrec], [passes.Station(*list(STATIONS.values())[target.station])], middle, END
        )
        if w.aos < middle
    ]
    assert abs((again.aos - target.aos).total_seconds()) < 0.05
    assert abs((again.los - target.los).total_seconds()) < 0.05


DECAY_START = datetime(2024, 3, 26, tzinfo=UTC)
DECAY_END = DECAY_START + timedelta(days=6)


def _decaying():
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "mixed.tle").read_text()
    return next(e for e in tle_format.parse(text).element_sets if e.norad_id == 90005)


def test_decay_ends_the_prediction_at_the_last_valid_time_and_matches_skyfield_before():
    from skyfield.api import EarthSatellite, load, wgs84

    element_set = _decaying()
    stations = [passes.Station(*v) for v in STATIONS.values()]
    result = passes.prediction([element_set.satrec], stations, DECAY_START, DECAY_END)
    failure = result.failures[0]
    assert failure.code == 6 and failure.error == "decayed"
    assert DECAY_START < failure.last_valid < failure.failed_at < DECAY_END
    # SGP4 works at the last valid time and fails a millisecond later.
    jd, fr = element_set.satrec.jdsatepoch, element_set.satrec.jdsatepochF
    offset = (failure.last_valid - element_set.epoch).total_seconds() / 86400
    assert element_set.satrec.sgp4(jd, fr + offset)[0] == 0
    assert element_set.satrec.sgp4(jd, fr + offset + 0.002 / 86400)[0] == 6
    assert result.windows and all(w.los <= failure.last_valid for w in result.windows)
    for w in result.windows:
        values = (w.max_elevation_deg, w.aos_azimuth_deg, w.los_azimuth_deg)
        assert all(v == v and abs(v) != float("inf") for v in values)
        assert w.sgp4_end == (w.los == failure.last_valid)
    ts = load.timescale(builtin=True)
    sat = EarthSatellite(element_set.line1, element_set.line2, "decaying", ts)
    compared = 0
    for k, (lat, lon, alt, min_el) in enumerate(STATIONS.values()):
        site = wgs84.latlon(lat, lon, elevation_m=alt)
        times, events = sat.find_events(
            site, ts.from_datetime(DECAY_START), ts.from_datetime(failure.last_valid), altitude_degrees=min_el
        )
        rises = [t.utc_datetime() for t, e in zip(times, events, strict=True) if e == 0]
        ours = [w.aos for w in result.windows if w.station == k and w.aos >= DECAY_START]
        assert len(rises) == len(ours)
        for a, b in zip(rises, ours, strict=True):
            assert abs((a - b).total_seconds()) < 1.0
            compared += 1
    assert compared > 5


def test_window_after_the_decay_has_no_passes_and_names_the_error():
    element_set = _decaying()
    later = DECAY_END + timedelta(days=30)
    result = passes.prediction(
        [element_set.satrec], [passes.Station(*STATIONS["Wallops"])], later, later + timedelta(days=1)
    )
    assert result.windows == []
    assert result.failures[0].code in (1, 6) and result.failures[0].last_valid is None


def test_cut_at_window_marks_passes_in_progress_at_both_edges(predicted):
    sets, windows = predicted
    leo = [w for w in windows if w.satellite == 0 and not w.continuous]
    first, second = leo[3], leo[6]
    start = first.aos + (first.los - first.aos) / 3
    end = second.aos + (second.los - second.aos) * 2 / 3
    station = passes.Station(*list(STATIONS.values())[first.station])
    stations = (
        [station]
        if first.station == second.station
        else [station, passes.Station(*list(STATIONS.values())[second.station])]
    )
    cut = passes.predict([sets[0].satrec], stations, start, end, cut_at_window=True)
    head = [w for w in cut if w.cut_at_start]
    tail = [w for w in cut if w.cut_at_end]
    assert head and all(w.aos == start for w in head)
    assert tail and all(w.los == end for w in tail)
    assert all(start <= w.aos <= w.tca <= w.los <= end for w in cut)
