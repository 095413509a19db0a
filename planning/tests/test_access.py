"""Access windows from SGP4: found under the ground track, not on the far side of the Earth,
daylight and element-set age respected; light segments cover the horizon."""

from datetime import timedelta

import numpy as np
from django.utils import timezone

from planning import access

from .conftest import fresh_tle, sub_point


def _fleet(epoch, hours=3.0, **kwargs):
    text = fresh_tle(epoch)
    _, line1, line2 = text.strip().splitlines()
    return text, access.propagate_fleet([(line1, line2)], epoch, hours * 3600, **kwargs)


def test_window_under_the_track_and_none_on_the_far_side():
    epoch = timezone.now().replace(microsecond=0)
    text, fleet = _fleet(epoch)
    t0 = epoch + timedelta(hours=2)
    lat, lon = sub_point(text, t0)
    far_lon = lon + 180 if lon < 0 else lon - 180
    sites = access.Sites.of([(lat, lon, 60.0, None), (-lat, far_lon, 60.0, None)])
    windows = access.windows(fleet, sites)
    assert set(windows.site.tolist()) == {0}
    i = int(np.argmin(np.abs(windows.tca_s - 7200)))
    assert abs(windows.tca_s[i] - 7200) <= 10
    assert windows.max_elevation_deg[i] > 85
    assert windows.start_s[i] < windows.tca_s[i] < windows.end_s[i]
    assert 30 < windows.end_s[i] - windows.start_s[i] < 200  # above 60° from 550 km: about a minute


def test_daylight_constraint():
    epoch = timezone.now().replace(microsecond=0)
    text, fleet = _fleet(epoch, hours=6)
    hits = []
    for minutes in range(0, 360, 7):
        t = epoch + timedelta(minutes=minutes)
        lat, lon = sub_point(text, t)
        hits.append((lat, lon, 60.0, None))
    any_light = access.windows(fleet, access.Sites.of(hits))
    day_only = access.windows(fleet, access.Sites.of([(a, b, c, 10.0) for a, b, c, _ in hits]))
    assert len(day_only) < len(any_light)  # the points under the track at night drop out
    assert len(day_only) > 0


def test_element_set_age_blanks_the_far_future():
    epoch = timezone.now().replace(microsecond=0)
    text, fleet = _fleet(epoch, hours=4, epochs=[epoch], max_age=timedelta(hours=1))
    lat, lon = sub_point(text, epoch + timedelta(hours=2))
    assert len(access.windows(fleet, access.Sites.of([(lat, lon, 60.0, None)]))) == 0
    early = sub_point(text, epoch + timedelta(minutes=30))
    assert len(access.windows(fleet, access.Sites.of([(*early, 60.0, None)]))) == 1


def test_light_segments_cover_the_horizon():
    epoch = timezone.now().replace(microsecond=0)
    _, fleet = _fleet(epoch, hours=4)
    segments = access.light_segments(fleet, 0)
    assert segments[0][0] == 0 and segments[-1][1] == 4 * 3600
    assert all(a[1] == b[0] and a[2] != b[2] for a, b in zip(segments, segments[1:], strict=False))
    eclipse = sum(e - s for s, e, lit in segments if not lit)
    assert 0.05 < eclipse / (4 * 3600) < 0.45  # a LEO orbit is in shadow part of each revolution
