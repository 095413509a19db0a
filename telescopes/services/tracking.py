"""Optical tracking of our own spacecraft: a telescope follows the computed topocentric track of a
pass, taking exposures on a cadence, with the pointing error logged at every step.

The session advances one step per Celery task (`advance_session`): log where the telescope points
against where the spacecraft is now, slew (Alt/Az: no equatorial frame between the track and the
mount) to where it will be one step later, start or collect an exposure. A lost step costs one
sample, never the session. A rehearsal offset follows a pass of another time right now.
"""

import logging
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from missionops import live
from missionops.services import record_event
from missionops.tenancy import user_or_none
from orbits import element_sets, predictions
from orbits import passes as orbit_passes
from orbits import propagation as prop

from .. import astro, client
from ..exceptions import TelescopeError
from ..models import AlpacaDevice, DeviceType, ObservationSession, Observatory, SessionStatus
from ..representations import SessionSerializer
from .exposures import CAMERA_ERROR, store_exposure

logger = logging.getLogger(__name__)

TRACK_STEP_S = 1.0  # resolution of the stored track
MAX_SESSION_S = 3 * 3600
MAX_EXPOSURE_S = 600.0
MAX_REHEARSAL_OFFSET_S = 366 * 86400  # a rehearsal follows a pass of up to a year before or after
MAX_WAIT_S = 30.0  # a scheduled session re-checks at least this often before its start


def observatory_station(observatory: Observatory) -> orbit_passes.Station:
    """The observatory as a ground station for pass prediction."""
    return orbit_passes.Station(
        observatory.latitude_deg, observatory.longitude_deg, observatory.altitude_m, observatory.horizon_limit_deg
    )


def track_for(*, observatory: Observatory, line1: str, line2: str, times) -> astro.SatelliteTrack:
    """The satellite's topocentric track seen from the observatory at these times."""
    return astro.satellite_track(
        line1,
        line2,
        latitude_deg=observatory.latitude_deg,
        longitude_deg=observatory.longitude_deg,
        altitude_m=observatory.altitude_m,
        times=times,
    )


def find_passes(
    *, observatory: Observatory, spacecraft, start: datetime, end: datetime, allow_stale: bool = False
) -> predictions.PassPrediction:
    """Passes of `spacecraft` above the observatory's horizon limit over [start, end] (up to 31
    days): orbits' on-demand prediction, so the same nearest-epoch rule, age warning and refusal
    (ElementSetAgeError unless `allow_stale`) as GET /api/v1/passes/predict/."""
    return predictions.predict_passes(
        spacecraft=spacecraft,
        station=observatory_station(observatory),
        start=start,
        end=end,
        allow_stale=allow_stale,
    )


def _check_session_request(
    *,
    observatory: Observatory,
    telescope: AlpacaDevice,
    camera: AlpacaDevice | None,
    spacecraft,
    start: datetime,
    end: datetime,
    step_s: float,
    exposure_every_s: float,
    exposure_s: float,
    rehearsal_offset_s: float,
) -> None:
    """The devices belong to the observatory, the spacecraft to its organization, the settings in range."""
    if telescope.device_type != DeviceType.TELESCOPE or telescope.observatory_id != observatory.pk:
        raise TelescopeError("the telescope must be a telescope of this observatory", field="telescope")
    if camera is not None and (camera.device_type != DeviceType.CAMERA or camera.observatory_id != observatory.pk):
        raise TelescopeError("the camera must be a camera of this observatory", field="camera")
    if spacecraft.organization_id != observatory.organization_id:
        raise TelescopeError("unknown spacecraft", field="spacecraft")
    if end <= start:
        raise TelescopeError("end must be after start", field="end")
    if (end - start).total_seconds() > MAX_SESSION_S:
        raise TelescopeError(f"a session lasts at most {MAX_SESSION_S // 3600} h", field="end")
    if not 0.5 <= step_s <= 60:
        raise TelescopeError("step_s must be between 0.5 and 60", field="step_s")
    if not 0 < exposure_s <= MAX_EXPOSURE_S:
        raise TelescopeError(f"exposure_s must be more than 0 and at most {MAX_EXPOSURE_S:g}", field="exposure_s")
    if exposure_every_s != 0 and not exposure_s <= exposure_every_s <= MAX_SESSION_S:
        raise TelescopeError(
            "exposure_every_s must be 0 (no exposures) or from exposure_s to the longest session",
            field="exposure_every_s",
        )
    if not abs(rehearsal_offset_s) <= MAX_REHEARSAL_OFFSET_S:  # also refuses NaN
        raise TelescopeError(
            f"rehearsal_offset_s must be within ±{MAX_REHEARSAL_OFFSET_S // 86400} days", field="rehearsal_offset_s"
        )


def start_session(
    *,
    observatory: Observatory,
    telescope: AlpacaDevice,
    spacecraft,
    start: datetime,
    end: datetime,
    camera: AlpacaDevice | None = None,
    step_s: float = 2.0,
    exposure_every_s: float = 0.0,
    exposure_s: float = 0.5,
    rehearsal_offset_s: float = 0.0,
    allow_stale: bool = False,
    actor=None,
    enqueue: bool = True,
) -> ObservationSession:
    """Schedule a session of `telescope` (and `camera`) following `spacecraft` from start to end.

    The track (Alt/Az and RA/Dec of date, one row a second) is computed and stored now, so the page
    can show it before the pass, with the element set whose epoch is nearest the tracked start
    (before it where one exists); one past its hard age limit is refused unless `allow_stale`."""
    _check_session_request(
        observatory=observatory,
        telescope=telescope,
        camera=camera,
        spacecraft=spacecraft,
        start=start,
        end=end,
        step_s=step_s,
        exposure_every_s=exposure_every_s,
        exposure_s=exposure_s,
        rehearsal_offset_s=rehearsal_offset_s,
    )
    offset = timedelta(seconds=rehearsal_offset_s)
    tle = element_sets.element_set_at(spacecraft, start + offset)
    if tle is None:
        raise TelescopeError(f"{spacecraft} has no TLE: import one first", field="spacecraft")
    use = element_sets.use(tle, start + offset, end + offset)
    element_sets.check_age([use], allow_stale=allow_stale, spacecraft=spacecraft)
    track = track_for(
        observatory=observatory,
        line1=tle.line1,
        line2=tle.line2,
        times=prop.time_grid(start + offset, end + offset, TRACK_STEP_S),
    )
    if not np.any(track.altitude_deg >= observatory.horizon_limit_deg):
        raise TelescopeError(
            f"{spacecraft} stays below the horizon limit of {observatory.name} "
            f"({observatory.horizon_limit_deg:g}°) during this window",
            field="start",
        )
    with transaction.atomic():
        session = ObservationSession.objects.create(
            observatory=observatory,
            telescope=telescope,
            camera=camera,
            spacecraft=spacecraft,
            element_set=tle,
            tle_line1=tle.line1,
            tle_line2=tle.line2,
            start=start,
            end=end,
            step_s=step_s,
            exposure_every_s=exposure_every_s,
            exposure_s=exposure_s,
            rehearsal_offset_s=rehearsal_offset_s,
            track=track.rows(),
            created_by=user_or_none(actor),
        )
        record_event(
            organization=observatory.organization,
            kind="telescope.session.scheduled",
            subject=session,
            actor=actor,
            payload={
                "spacecraft": str(spacecraft.pk),
                "start": start.isoformat(),
                "end": end.isoformat(),
                "element_set": tle.pk,
                "element_set_age_days": round(use.age_days, 3),
            },
        )
        _publish(session)
        if enqueue:
            # By name: the tasks module imports this one, never the reverse.
            task = import_string("telescopes.tasks.advance_session_task")
            transaction.on_commit(lambda: task.apply_async((session.pk,), eta=start - timedelta(seconds=5)))
    return session


def _publish(session: ObservationSession) -> None:
    message = live.live_message("session", SessionSerializer, session)
    live.publish("telescopes", message, organization=session.observatory.organization)


def _finish(session: ObservationSession, status: str, error: str = "") -> None:
    with transaction.atomic():
        updated = ObservationSession.objects.filter(
            pk=session.pk, status__in=[SessionStatus.SCHEDULED, SessionStatus.RUNNING]
        ).update(status=status, error=error[:2000], finished_at=timezone.now())
        if not updated:
            return
        session.refresh_from_db()
        errors = [s["error_deg"] for s in session.pointing if s.get("error_deg") is not None]
        record_event(
            organization=session.observatory.organization,
            kind=f"telescope.session.{status}",
            subject=session,
            payload={
                "samples": len(session.pointing),
                "exposures": session.exposures.count(),
                "max_pointing_error_deg": session.max_pointing_error_deg,
                "median_pointing_error_deg": float(np.median(errors)) if errors else None,
                "error": error,
            },
        )
        _publish(session)


def abort_session(*, session: ObservationSession, actor=None) -> ObservationSession:
    """End an open session now and stop the mount's slew (409 if the session has ended)."""
    if not session.is_open:
        raise TelescopeError(f"session {session.pk} is {session.status}", conflict=True)
    try:
        client.client_for(session.telescope).AbortSlew()
    except Exception:  # the session ends whether or not the mount hears it
        logger.info("abort slew for session %s failed", session.pk, exc_info=True)
    _finish(session, SessionStatus.ABORTED, error=f"aborted by {actor or 'system'}")
    session.refresh_from_db()
    return session


def advance_session(*, session_id: int, now: datetime | None = None) -> float | None:
    """One step of a session. Returns seconds until the next step, None once it has ended."""
    try:
        session = ObservationSession.objects.select_related("observatory__organization", "telescope", "camera").get(
            pk=session_id
        )
    except ObservationSession.DoesNotExist:
        return None
    if not session.is_open:
        return None
    now = now or timezone.now()
    if now < session.start:
        return min((session.start - now).total_seconds(), MAX_WAIT_S)
    telescope = client.client_for(session.telescope)
    try:
        if session.status == SessionStatus.SCHEDULED:
            if telescope.AtPark:
                telescope.Unpark()
            if telescope.CanSetTracking and telescope.Tracking:
                telescope.Tracking = False  # the session drives both axes itself
            ObservationSession.objects.filter(pk=session.pk).update(status=SessionStatus.RUNNING, started_at=now)
            session.status = SessionStatus.RUNNING
        if now >= session.end:
            _collect_exposure(session, now)
            _finish(session, SessionStatus.COMPLETED)
            return None
        sample = _step(session, telescope, now)
        _exposures(session, now, sample)
    except Exception as error:
        explained = client.explain(error, session.telescope)
        _finish(session, SessionStatus.FAILED, error=explained.message)
        return None
    pointing = [*session.pointing, sample]
    errors = [s["error_deg"] for s in pointing if s.get("error_deg") is not None]
    ObservationSession.objects.filter(pk=session.pk).update(
        pointing=pointing, max_pointing_error_deg=max(errors) if errors else None
    )
    session.pointing = pointing
    session.max_pointing_error_deg = max(errors) if errors else None
    _publish(session)
    return session.step_s


def _step(session: ObservationSession, telescope, now: datetime) -> dict:
    """Log the pointing error against the spacecraft's position now, then slew ahead one step."""
    offset = timedelta(seconds=session.rehearsal_offset_s)
    times = np.array(
        [np.datetime64((t + offset).replace(tzinfo=None), "us") for t in (now, now + timedelta(seconds=session.step_s))]
    )
    track = track_for(observatory=session.observatory, line1=session.tle_line1, line2=session.tle_line2, times=times)
    alt, az = float(telescope.Altitude), float(telescope.Azimuth)
    sample = {
        "t": now.isoformat(),
        "target_alt": round(float(track.altitude_deg[0]), 4),
        "target_az": round(float(track.azimuth_deg[0]), 4),
        "alt": round(alt, 4),
        "az": round(az, 4),
        "error_deg": None,
    }
    # Every sample counts, the first one too (the mount may still be far from the target then).
    if track.altitude_deg[0] >= session.observatory.horizon_limit_deg:
        sample["error_deg"] = round(astro.separation_deg(alt, az, track.altitude_deg[0], track.azimuth_deg[0]), 4)
    next_alt, next_az = float(track.altitude_deg[1]), float(track.azimuth_deg[1])
    if next_alt >= session.observatory.horizon_limit_deg:
        telescope.SlewToAltAzAsync(next_az % 360.0, next_alt)
        sample["slew_to"] = [round(next_alt, 4), round(next_az, 4)]
    else:
        sample["note"] = "below the horizon limit: holding"
    return sample


def _exposures(session: ObservationSession, now: datetime, sample: dict) -> None:
    if session.camera is None or session.exposure_every_s <= 0:
        return
    if session.pending_exposure:
        _collect_exposure(session, now)
        return
    if session.last_exposure_at and (now - session.last_exposure_at).total_seconds() < session.exposure_every_s:
        return
    on_target_deg = settings.TELESCOPE_ON_TARGET_DEG
    if session.last_exposure_at is None and (sample["error_deg"] is None or sample["error_deg"] > on_target_deg):
        sample["note"] = f"first exposure waits for the mount to be within {on_target_deg:g}° of the target"
        return
    sample["exposure"] = "started"
    camera = client.client_for(session.camera)
    camera.BinX = camera.BinY = 1
    camera.StartX = camera.StartY = 0
    camera.NumX, camera.NumY = camera.CameraXSize, camera.CameraYSize
    camera.StartExposure(session.exposure_s, True)
    pending = {"started_at": now.isoformat()}
    ObservationSession.objects.filter(pk=session.pk).update(pending_exposure=pending, last_exposure_at=now)
    session.pending_exposure, session.last_exposure_at = pending, now


def _collect_exposure(session: ObservationSession, now: datetime) -> None:
    if session.camera is None or not session.pending_exposure:
        return
    camera = client.client_for(session.camera)
    state = camera.CameraState
    if state == CAMERA_ERROR:
        session.pointing = [*session.pointing, {"t": now.isoformat(), "note": "camera error: exposure lost"}]
        ObservationSession.objects.filter(pk=session.pk).update(pending_exposure=None, pointing=session.pointing)
        session.pending_exposure = None
        return
    if not camera.ImageReady:
        return
    image = np.asarray(camera.ImageArray).T
    started = datetime.fromisoformat(session.pending_exposure["started_at"])
    last = next((s for s in reversed(session.pointing) if "alt" in s), None)
    pointing = {"altitude_deg": last["alt"], "azimuth_deg": last["az"]} if last else {}
    store_exposure(
        camera=session.camera,
        image=image,
        started_at=started,
        duration_s=session.exposure_s,
        light=True,
        pointing=pointing,
        session=session,
    )
    ObservationSession.objects.filter(pk=session.pk).update(pending_exposure=None)
    session.pending_exposure = None


def run_session(*, session: ObservationSession) -> ObservationSession:
    """Drive a session to its end in this process (management commands, tests)."""
    import time

    while (delay := advance_session(session_id=session.pk)) is not None:
        time.sleep(delay)
    session.refresh_from_db()
    return session
