from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from orbits import passes as orbit_passes
from orbits import propagation as prop
from orbits.exceptions import ElementSetAgeError
from telescopes import astro
from telescopes.exceptions import TelescopeError
from telescopes.models import SessionStatus
from telescopes.services.tracking import find_passes, run_session, start_session, track_for

pytestmark = pytest.mark.django_db

# AURORA-1 of orbits' demo set: a sun-synchronous LEO.
LINE1 = "1 39634U 14016A   26305.00000000  .00000000  00000-0  15000-4 0  9993"
LINE2 = "2 39634  98.1800 305.0000 0001000  80.0000 280.0000 14.59198000 50002"
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def tracked_spacecraft(make_spacecraft, org_a):
    from orbits.services import import_tles

    spacecraft = make_spacecraft(org_a, "AUR-1", norad_id=39634)
    report = import_tles(organization=org_a, text=f"AURORA-1\n{LINE1}\n{LINE2}\n")
    assert report.imported, report.refused
    return spacecraft


def first_pass(observatory, start=EPOCH):
    station = orbit_passes.Station(
        observatory.latitude_deg, observatory.longitude_deg, observatory.altitude_m, observatory.horizon_limit_deg
    )
    windows = orbit_passes.predict([prop.satrec_from_lines(LINE1, LINE2)], [station], start, start + timedelta(days=1))
    return max(windows, key=lambda w: w.max_elevation_deg)


def test_track_matches_orbits_pass_within_a_tenth_of_a_degree(observatory):
    window = first_pass(observatory)
    times = [np.datetime64(t.replace(tzinfo=None), "us") for t in (window.aos, window.tca, window.los)]
    track = track_for(observatory=observatory, line1=LINE1, line2=LINE2, times=times)
    assert track.altitude_deg[0] == pytest.approx(observatory.horizon_limit_deg, abs=0.1)
    assert track.azimuth_deg[0] == pytest.approx(window.aos_azimuth_deg, abs=0.1)
    assert track.altitude_deg[1] == pytest.approx(window.max_elevation_deg, abs=0.1)
    assert track.altitude_deg[2] == pytest.approx(observatory.horizon_limit_deg, abs=0.1)
    assert track.azimuth_deg[2] == pytest.approx(window.los_azimuth_deg, abs=0.1)
    # RA/Dec of date and Alt/Az are the same line of sight.
    for i, when in enumerate((window.aos, window.tca, window.los)):
        alt, az = astro.altaz_of_date(
            track.ra_hours[i],
            track.dec_deg[i],
            latitude_deg=observatory.latitude_deg,
            longitude_deg=observatory.longitude_deg,
            when=when,
        )
        assert astro.separation_deg(alt, az, track.altitude_deg[i], track.azimuth_deg[i]) < 0.1


def test_find_passes_uses_the_horizon_limit(observatory, tracked_spacecraft):
    windows = find_passes(
        observatory=observatory, spacecraft=tracked_spacecraft, start=EPOCH, end=EPOCH + timedelta(days=1)
    ).passes
    assert windows and all(w.max_elevation_deg >= observatory.horizon_limit_deg for w in windows)


def test_session_follows_a_rehearsed_pass_with_the_simulator(observatory, devices, tracked_spacecraft, media):
    """A 14 s window around the culmination of a real pass, rehearsed now: the simulator's mount
    follows the track and the pointing error stays small; exposures are taken on the cadence."""
    telescope, camera = devices["telescope"], devices["camera"]
    window = first_pass(observatory)
    start = timezone.now() + timedelta(seconds=1)
    offset = (window.tca - timedelta(seconds=7) - start).total_seconds()
    session = start_session(
        observatory=observatory,
        telescope=telescope,
        camera=camera,
        spacecraft=tracked_spacecraft,
        start=start,
        end=start + timedelta(seconds=14),
        step_s=1.0,
        exposure_every_s=5.0,
        exposure_s=0.2,
        rehearsal_offset_s=offset,
        enqueue=False,
    )
    assert len(session.track) == 15
    session = run_session(session=session)
    assert session.status == SessionStatus.COMPLETED, session.error
    errors = [s["error_deg"] for s in session.pointing if s.get("error_deg") is not None]
    assert len(errors) >= 8
    assert session.max_pointing_error_deg == max(errors)  # the slew onto the target included
    # Near culmination the spacecraft moves ~1°/s; the mount (15°/s) is re-pointed every step:
    # once it has caught up, it stays on the track.
    caught_up = next(i for i, s in enumerate(session.pointing) if (s.get("error_deg") or 99) <= 1.0)
    tracked = [s["error_deg"] for s in session.pointing[caught_up:] if s.get("error_deg") is not None]
    assert np.median(tracked) < 0.5, errors
    assert session.exposures.count() >= 2
    # Every sample counts, the first one too; the first exposure starts only once on target.
    assert session.pointing[0]["error_deg"] is not None
    started = [s for s in session.pointing if s.get("exposure") == "started"]
    assert started and started[0]["error_deg"] <= 1.0
    assert all(s.get("exposure") != "started" for s in session.pointing[: session.pointing.index(started[0])])
    last = session.pointing[-1]
    assert last["target_alt"] > observatory.horizon_limit_deg


def test_session_refused_when_spacecraft_stays_below_horizon(observatory, devices, tracked_spacecraft):
    window = first_pass(observatory)
    start = timezone.now()
    quiet = (window.los + timedelta(minutes=2) - start).total_seconds()  # after the pass: below the horizon
    with pytest.raises(TelescopeError, match="stays below the horizon limit"):
        start_session(
            observatory=observatory,
            telescope=devices["telescope"],
            spacecraft=tracked_spacecraft,
            start=start,
            end=start + timedelta(seconds=20),
            rehearsal_offset_s=quiet,
            enqueue=False,
        )


def test_session_fails_clearly_when_the_mount_goes_away(observatory, devices, tracked_spacecraft, simulator):
    window = first_pass(observatory)
    start = timezone.now()
    session = start_session(
        observatory=observatory,
        telescope=devices["telescope"],
        spacecraft=tracked_spacecraft,
        start=start,
        end=start + timedelta(seconds=30),
        step_s=1.0,
        rehearsal_offset_s=(window.tca - start).total_seconds(),
        enqueue=False,
    )
    simulator.stop()
    session = run_session(session=session)
    assert session.status == SessionStatus.FAILED
    assert "unreachable" in session.error


@pytest.mark.parametrize(
    "settings_, field",
    [
        ({"exposure_s": -30, "exposure_every_s": 5}, "exposure_s"),
        ({"exposure_s": 0, "exposure_every_s": 5}, "exposure_s"),
        ({"exposure_s": 2, "exposure_every_s": 1}, "exposure_every_s"),
        ({"exposure_s": 1, "exposure_every_s": float("nan")}, "exposure_every_s"),
        ({"rehearsal_offset_s": 1e15}, "rehearsal_offset_s"),
        ({"rehearsal_offset_s": float("nan")}, "rehearsal_offset_s"),
    ],
)
def test_session_settings_out_of_range_are_refused_naming_the_field(
    observatory, devices, tracked_spacecraft, settings_, field
):
    from telescopes.models import ObservationSession

    start = timezone.now() + timedelta(minutes=5)
    with pytest.raises(TelescopeError) as refused:
        start_session(
            observatory=observatory,
            telescope=devices["telescope"],
            camera=devices["camera"],
            spacecraft=tracked_spacecraft,
            start=start,
            end=start + timedelta(minutes=10),
            enqueue=False,
            **settings_,
        )
    assert refused.value.field == field
    assert not ObservationSession.objects.exists()


def test_observatory_passes_name_a_malformed_spacecraft_id(api, operator, observatory):
    answer = api(operator).get(f"/api/v1/observatories/{observatory.pk}/passes/", {"spacecraft": "abc"})
    assert answer.status_code == 400 and "spacecraft" in answer.json(), answer.json()


def test_observatory_passes_any_window_up_to_31_days_with_the_element_set(
    api, operator, observatory, tracked_spacecraft, org_a
):
    """The nearest-epoch set (not the newest), its age, and the window up to 31 days."""
    from orbits.models import TLE
    from orbits.services import import_tles
    from orbits.tests.conftest import reepoch

    import_tles(organization=org_a, text=reepoch(LINE1, LINE2, EPOCH + timedelta(days=20), name="AURORA-1"))
    old, new = TLE.objects.filter(spacecraft=tracked_spacecraft).order_by("epoch")
    url = f"/api/v1/observatories/{observatory.pk}/passes/"
    query = {"spacecraft": tracked_spacecraft.pk, "start": EPOCH.isoformat(), "hours": 24 * 10}
    answer = api(operator).get(url, query)
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["element_set"]["id"] == old.pk and body["element_set"]["age_days"] == pytest.approx(10)
    assert body["element_set"]["warning"] == "" and body["passes"]
    assert all(p["element_set"] == old.pk for p in body["passes"])
    month = api(operator).get(url, {**query, "hours": 24 * 31})
    assert month.status_code == 200, month.json()
    assert [u["id"] for u in month.json()["element_sets"]] == [old.pk, new.pk]
    assert api(operator).get(url, {**query, "hours": 24 * 31 + 1}).json()["field"] == "hours"


def test_observatory_passes_warn_and_refuse_an_old_set_like_predict(api, operator, observatory, tracked_spacecraft):
    url = f"/api/v1/observatories/{observatory.pk}/passes/"
    query = {"spacecraft": tracked_spacecraft.pk, "hours": 24}
    warned = api(operator).get(url, {**query, "start": (EPOCH + timedelta(days=20)).isoformat()})
    assert warned.status_code == 200 and "warning after 14 days" in warned.json()["element_set"]["warning"]
    far = {**query, "start": (EPOCH + timedelta(days=90)).isoformat()}
    refused = api(operator).get(url, far)
    assert refused.status_code == 400 and refused.json()["field"] == "allow_stale"
    assert api(operator).get(url, {**far, "allow_stale": "true"}).status_code == 200


def test_session_tracks_with_the_nearest_set_and_refuses_an_old_one(observatory, devices, tracked_spacecraft, org_a):
    from orbits.models import TLE
    from orbits.services import import_tles
    from orbits.tests.conftest import reepoch

    import_tles(organization=org_a, text=reepoch(LINE1, LINE2, EPOCH + timedelta(days=20), name="AURORA-1"))
    old = TLE.objects.filter(spacecraft=tracked_spacecraft).order_by("epoch").first()
    window = first_pass(observatory)
    start = timezone.now() + timedelta(minutes=5)
    settings_ = {"observatory": observatory, "telescope": devices["telescope"], "spacecraft": tracked_spacecraft}
    session = start_session(
        **settings_,
        start=start,
        end=start + timedelta(seconds=20),
        rehearsal_offset_s=(window.tca - start).total_seconds(),
        enqueue=False,
    )
    assert session.element_set == old and (session.tle_line1, session.tle_line2) == (old.line1, old.line2)
    far = (EPOCH + timedelta(days=20 + 90) - start).total_seconds()
    with pytest.raises(ElementSetAgeError) as refused:
        start_session(**settings_, start=start, end=start + timedelta(seconds=20), rehearsal_offset_s=far)
    assert refused.value.field == "allow_stale"
