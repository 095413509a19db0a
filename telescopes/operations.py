"""Device operations as asynchronous records.

`request_operation` validates (permissions are the API's job), stores a pending Operation with a
deadline and, after commit, enqueues its first step. `advance_operation` is one step: it claims a
pending operation (a conditional UPDATE, so a re-delivered task cannot start it twice), sends the
command, and on later steps reads the device until the command is done. Between steps the worker
is free, so an abort is never stuck behind a slew. Every failure ends the record with a sentence
(device offline, device refused, timed out); `sweep_operations` ends whatever a lost worker left
open past its deadline, so no operation stays pending or running.
"""

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from missionops import live
from missionops.services import record_event
from missionops.tenancy import user_or_none

from . import astro, client, imaging
from .exceptions import BelowHorizonError, TelescopeError
from .models import (
    FINISHED_STATUSES,
    AlpacaDevice,
    DeviceType,
    Exposure,
    Operation,
    OperationKind,
    OperationStatus,
)

logger = logging.getLogger(__name__)

POLL_S = 0.5
SWEEP_GRACE_S = 15.0
POINTING_TOLERANCE_DEG = 0.05
CAMERA_ERROR = 5  # ASCOM CameraStates.cameraError
SHUTTER_OPEN, SHUTTER_CLOSED, SHUTTER_ERROR = 0, 1, 4

KIND_DEVICE_TYPES = {
    OperationKind.UNPARK: {DeviceType.TELESCOPE},
    OperationKind.PARK: {DeviceType.TELESCOPE},
    OperationKind.SLEW_RADEC: {DeviceType.TELESCOPE},
    OperationKind.SLEW_ALTAZ: {DeviceType.TELESCOPE},
    OperationKind.ABORT: {DeviceType.TELESCOPE},
    OperationKind.TRACKING: {DeviceType.TELESCOPE},
    OperationKind.EXPOSE: {DeviceType.CAMERA},
    OperationKind.FOCUSER_MOVE: {DeviceType.FOCUSER},
    OperationKind.DOME_OPEN: {DeviceType.DOME},
    OperationKind.DOME_CLOSE: {DeviceType.DOME},
}
DEFAULT_TIMEOUT_S = {
    OperationKind.PARK: 180.0,
    OperationKind.UNPARK: 60.0,
    OperationKind.SLEW_RADEC: 180.0,
    OperationKind.SLEW_ALTAZ: 180.0,
    OperationKind.FOCUSER_MOVE: 120.0,
    OperationKind.DOME_OPEN: 180.0,
    OperationKind.DOME_CLOSE: 180.0,
}
MOTION_KINDS = (OperationKind.SLEW_RADEC, OperationKind.SLEW_ALTAZ, OperationKind.PARK, OperationKind.UNPARK)


# -- requests -------------------------------------------------------------------------------------


def check_horizon(*, observatory, altitude_deg: float, what: str) -> None:
    if altitude_deg < observatory.horizon_limit_deg:
        raise BelowHorizonError(
            f"{what} is at altitude {altitude_deg:.2f}°, below the horizon limit of {observatory.name} "
            f"({observatory.horizon_limit_deg:g}°): slew refused",
            field="altitude_deg" if what.startswith("Alt") else "dec_deg",
        )


def _validate(device: AlpacaDevice, kind: str, params: dict) -> dict:
    allowed = KIND_DEVICE_TYPES.get(kind)
    if allowed is not None and device.device_type not in allowed:
        raise TelescopeError(f"{kind} is not an operation of a {device.device_type}", field="kind")
    observatory = device.observatory
    if kind == OperationKind.SLEW_RADEC:
        now = timezone.now()
        ra, dec = astro.convert_radec(
            params["ra_hours"], params["dec_deg"], from_jd=astro.J2000_JD, to_jd=astro.julian_date(now)
        )
        altitude, _ = astro.altaz_of_date(
            ra, dec, latitude_deg=observatory.latitude_deg, longitude_deg=observatory.longitude_deg, when=now
        )
        check_horizon(observatory=observatory, altitude_deg=altitude, what="RA/Dec target")
    elif kind == OperationKind.SLEW_ALTAZ:
        check_horizon(observatory=observatory, altitude_deg=params["altitude_deg"], what="Alt/Az target")
    elif kind == OperationKind.EXPOSE:
        if params.get("duration_s", 0) < 0:
            raise TelescopeError("duration_s must not be negative", field="duration_s")
    return params


def request_operation(
    *,
    device: AlpacaDevice,
    kind: str,
    params: dict | None = None,
    actor=None,
    timeout_s: float | None = None,
    enqueue: bool = True,
) -> Operation:
    """Store a pending operation on `device` (400 when the request is refused, e.g. a slew below the
    horizon limit) and, after commit, hand it to a worker. The record, not the HTTP call, carries
    the outcome."""
    params = _validate(device, kind, dict(params or {}))
    if timeout_s is None:
        timeout_s = DEFAULT_TIMEOUT_S.get(kind, 30.0)
        if kind == OperationKind.EXPOSE:
            timeout_s = params.get("duration_s", 0) + 90.0
    now = timezone.now()
    with transaction.atomic():
        operation = Operation.objects.create(
            device=device,
            kind=kind,
            params=params,
            requested_by=user_or_none(actor),
            timeout_s=timeout_s,
            deadline=now + timedelta(seconds=timeout_s),
        )
        record_event(
            organization=device.observatory.organization,
            kind="telescope.operation.requested",
            subject=device,
            actor=actor,
            payload={"operation": operation.pk, "kind": kind, "params": params},
        )
        _publish(operation)
        if enqueue:
            # By name: the tasks module imports this one, never the reverse.
            task = import_string("telescopes.tasks.advance_operation_task")
            transaction.on_commit(lambda: task.delay(operation.pk))
    return operation


def operation_message(operation: Operation) -> dict:
    return {
        "kind": "operation",
        "id": operation.pk,
        "device": operation.device_id,
        "operation": operation.kind,
        "params": operation.params,
        "status": operation.status,
        "error": operation.error,
        "result": {k: v for k, v in operation.result.items() if not k.startswith("_")},
        "created_at": operation.created_at,
        "finished_at": operation.finished_at,
    }


def _publish(operation: Operation) -> None:
    live.publish("telescopes", operation_message(operation), organization=operation.device.observatory.organization)


# -- steps ----------------------------------------------------------------------------------------


@dataclass
class Done:
    result: dict


@dataclass
class Wait:
    progress: dict


def advance_operation(*, operation_id: int) -> float | None:
    """Carry one step of an operation. Returns seconds until the next step, or None when it is
    finished (or gone). Safe to run twice: only one run claims a pending operation."""
    now = timezone.now()
    claimed = Operation.objects.filter(pk=operation_id, status=OperationStatus.PENDING).update(
        status=OperationStatus.RUNNING, started_at=now
    )
    try:
        operation = Operation.objects.select_related("device__observatory__organization").get(pk=operation_id)
    except Operation.DoesNotExist:
        return None
    if operation.status != OperationStatus.RUNNING:
        return None
    device = operation.device
    handler = HANDLERS[operation.kind]
    if not claimed and now > operation.deadline:
        _stop_motion(operation)
        _finish(
            operation,
            OperationStatus.TIMED_OUT,
            error=f"{operation.get_kind_display()} did not finish within {operation.timeout_s:g} s",
        )
        return None
    try:
        outcome = (
            handler.start(operation, client.client_for(device))
            if claimed
            else handler.poll(operation, client.client_for(device))
        )
    except Exception as error:  # every device failure ends the record with a clear sentence
        explained = client.explain(error, device)
        if not isinstance(error, client.DeviceError | TelescopeError) and not explained.offline:
            logger.warning("operation %s failed", operation_id, exc_info=True)
        _finish(operation, OperationStatus.FAILED, error=explained.message, offline=explained.offline)
        return None
    if isinstance(outcome, Done):
        _finish(operation, OperationStatus.SUCCEEDED, result=outcome.result)
        return None
    changed = Operation.objects.filter(pk=operation.pk, status=OperationStatus.RUNNING).update(
        result={**operation.result, **outcome.progress}
    )
    return POLL_S if changed else None


def run_operation(operation: Operation, *, poll_s: float = POLL_S) -> Operation:
    """Drive an operation to its end in this process (management commands, tests)."""
    import time

    while (delay := advance_operation(operation_id=operation.pk)) is not None:
        time.sleep(min(delay, poll_s))
    operation.refresh_from_db()
    return operation


def _finish(
    operation: Operation, status: str, *, result: dict | None = None, error: str = "", offline: bool = False
) -> bool:
    """End a running operation once (a conditional update: an abort may have ended it already)."""
    now = timezone.now()
    merged = {**operation.result, **(result or {})}
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=operation.pk, status__in=[OperationStatus.PENDING, OperationStatus.RUNNING]
        ).update(status=status, result=merged, error=error[:2000], finished_at=now)
        if not updated:
            return False
        operation.status, operation.result, operation.error, operation.finished_at = status, merged, error, now
        record_event(
            organization=operation.device.observatory.organization,
            kind=f"telescope.operation.{status}",
            subject=operation.device,
            actor=operation.requested_by,
            payload={"operation": operation.pk, "kind": operation.kind, "error": error, "offline": offline},
        )
        _publish(operation)
    if status == OperationStatus.SUCCEEDED:
        from .monitoring import refresh_device_status

        refresh_device_status(operation.device)
    return True


def _stop_motion(operation: Operation) -> None:
    if operation.kind in MOTION_KINDS:
        try:
            client.client_for(operation.device).AbortSlew()
        except Exception:  # best effort: the operation is failing anyway
            logger.info("abort after timeout of operation %s failed", operation.pk, exc_info=True)


def sweep_operations(*, now=None) -> int:
    """End operations still open well past their deadline (their worker died or never came)."""
    now = now or timezone.now()
    stale = Operation.objects.filter(
        status__in=[OperationStatus.PENDING, OperationStatus.RUNNING],
        deadline__lt=now - timedelta(seconds=SWEEP_GRACE_S),
    ).select_related("device__observatory__organization")
    ended = 0
    for operation in stale:
        never_started = operation.status == OperationStatus.PENDING
        reason = "no worker picked it up" if never_started else "its worker stopped answering"
        ended += _finish(
            operation, OperationStatus.TIMED_OUT, error=f"not finished within {operation.timeout_s:g} s: {reason}"
        )
    return ended


# -- handlers: start sends the command, poll reads the device until it is done ------------------


class Handler(ABC):
    @abstractmethod
    def start(self, operation: Operation, device) -> Done | Wait:
        """Send the command to the device; Done if it finished at once, Wait to be polled."""

    def poll(self, operation: Operation, device) -> Done | Wait:
        return Done({})


class Connect(Handler):
    def __init__(self, value: bool):
        self.value = value

    def start(self, operation, device):
        device.Connected = self.value
        return Done({"connected": bool(device.Connected)})


def _pointing(telescope) -> dict:
    return {
        "ra_hours": round(telescope.RightAscension, 6),
        "dec_deg": round(telescope.Declination, 5),
        "altitude_deg": round(telescope.Altitude, 5),
        "azimuth_deg": round(telescope.Azimuth, 5),
    }


class Unpark(Handler):
    def start(self, operation, telescope):
        telescope.Unpark()
        return self.poll(operation, telescope)

    def poll(self, operation, telescope):
        return Wait({}) if telescope.AtPark else Done({"at_park": False})


class Park(Handler):
    def start(self, operation, telescope):
        telescope.Park()
        return self.poll(operation, telescope)

    def poll(self, operation, telescope):
        if telescope.AtPark and not telescope.Slewing:
            return Done({"at_park": True, **_pointing(telescope)})
        return Wait({})


class SlewRaDec(Handler):
    def start(self, operation, telescope):
        system = telescope.EquatorialSystem
        now = timezone.now()
        ra, dec = astro.convert_radec(
            operation.params["ra_hours"],
            operation.params["dec_deg"],
            from_jd=astro.J2000_JD,
            to_jd=astro.epoch_jd(system, now),
        )
        if telescope.CanSetTracking and not telescope.Tracking:
            telescope.Tracking = True  # RA/Dec slews need a tracking mount
        telescope.SlewToCoordinatesAsync(ra, dec)
        return Wait(
            {
                "equatorial_system": astro.EquatorialSystem.NAMES.get(system, str(system)),
                "device_ra_hours": ra,
                "device_dec_deg": dec,
            }
        )

    def poll(self, operation, telescope):
        if telescope.Slewing:
            return Wait({"pointing": _pointing(telescope)})
        pointing = _pointing(telescope)
        target_ra, target_dec = operation.result["device_ra_hours"], operation.result["device_dec_deg"]
        dra = np.deg2rad((pointing["ra_hours"] - target_ra) * 15.0)
        d1, d2 = np.deg2rad(pointing["dec_deg"]), np.deg2rad(target_dec)
        error = float(
            np.rad2deg(np.arccos(np.clip(np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(dra), -1, 1)))
        )
        if error > POINTING_TOLERANCE_DEG:
            raise client.DeviceError(f"the slew stopped {error:.3f}° from the target (aborted or limited by the mount)")
        return Done({"pointing": pointing, "pointing_error_deg": round(error, 6)})


class SlewAltAz(Handler):
    def start(self, operation, telescope):
        if telescope.CanSetTracking and telescope.Tracking:
            telescope.Tracking = False  # ASCOM: Alt/Az slews are made with tracking off
        telescope.SlewToAltAzAsync(operation.params["azimuth_deg"] % 360.0, operation.params["altitude_deg"])
        return Wait({})

    def poll(self, operation, telescope):
        if telescope.Slewing:
            return Wait({"pointing": _pointing(telescope)})
        pointing = _pointing(telescope)
        error = astro.separation_deg(
            pointing["altitude_deg"],
            pointing["azimuth_deg"],
            operation.params["altitude_deg"],
            operation.params["azimuth_deg"],
        )
        if error > POINTING_TOLERANCE_DEG:
            raise client.DeviceError(f"the slew stopped {error:.3f}° from the target (aborted or limited by the mount)")
        return Done({"pointing": pointing, "pointing_error_deg": round(error, 6)})


class Abort(Handler):
    def start(self, operation, telescope):
        telescope.AbortSlew()
        cancelled = []
        for other in Operation.objects.filter(
            device_id=operation.device_id,
            kind__in=MOTION_KINDS,
            status__in=[OperationStatus.PENDING, OperationStatus.RUNNING],
        ).exclude(pk=operation.pk):
            if _finish(other, OperationStatus.CANCELLED, error=f"aborted by operation {operation.pk}"):
                cancelled.append(other.pk)
        return Done({"cancelled": cancelled, "pointing": _pointing(telescope)})


class Tracking(Handler):
    def start(self, operation, telescope):
        telescope.Tracking = bool(operation.params["enabled"])
        return Done({"tracking": bool(telescope.Tracking)})


class Expose(Handler):
    def start(self, operation, camera):
        binning = int(operation.params.get("binning", 1))
        width, height = camera.CameraXSize // binning, camera.CameraYSize // binning
        camera.BinX = camera.BinY = binning
        camera.StartX = camera.StartY = 0
        camera.NumX, camera.NumY = width, height
        started = timezone.now()
        camera.StartExposure(float(operation.params["duration_s"]), bool(operation.params.get("light", False)))
        return Wait(
            {
                "_started_at": started.isoformat(),
                "_width": width,
                "_height": height,
                "_binning": binning,
                "_pointing": _observatory_pointing(operation.device),
            }
        )

    def poll(self, operation, camera):
        if camera.CameraState == CAMERA_ERROR:
            hint = (
                " A light frame needs the star catalogue of the camera's image source (for the Alpaca "
                "simulator: its tap_source setting); a dark frame does not."
                if operation.params.get("light")
                else ""
            )
            raise client.DeviceError(f"{client.label(operation.device)} reported an error during the exposure.{hint}")
        if not camera.ImageReady:
            return Wait({"percent_completed": _percent(camera)})
        image = np.asarray(camera.ImageArray).T  # ASCOM arrays are [x][y]; images here are [y, x]
        exposure = store_exposure(
            camera=operation.device,
            operation=operation,
            image=image,
            started_at=datetime.fromisoformat(operation.result["_started_at"]),
            duration_s=float(operation.params["duration_s"]),
            light=bool(operation.params.get("light", False)),
            binning=operation.result["_binning"],
            pointing=operation.result.get("_pointing") or {},
        )
        return Done(
            {"exposure": exposure.pk, "width": exposure.width, "height": exposure.height, "stats": exposure.stats}
        )


def _percent(camera) -> int | None:
    try:
        return int(camera.PercentCompleted)
    except Exception:  # optional property
        return None


def _observatory_pointing(device: AlpacaDevice) -> dict:
    telescope = device.observatory.devices.filter(device_type=DeviceType.TELESCOPE).order_by("pk").first()
    if telescope is None:
        return {}
    try:
        return _pointing(client.client_for(telescope))
    except Exception:  # the frame is still worth taking without its pointing
        return {}


def store_exposure(
    *,
    camera: AlpacaDevice,
    image: np.ndarray,
    started_at,
    duration_s: float,
    light: bool,
    binning: int = 1,
    pointing: dict | None = None,
    operation=None,
    session=None,
) -> Exposure:
    """Keep a downloaded frame as FITS (with its header) and a PNG preview."""
    pointing = pointing or {}
    header = {
        "DATE-OBS": started_at,
        "EXPTIME": duration_s,
        "IMAGETYP": "Light Frame" if light else "Dark Frame",
        "XBINNING": binning,
        "YBINNING": binning,
        "INSTRUME": camera.name[:60],
        "TELESCOP": camera.observatory.name[:60],
        "SITELAT": camera.observatory.latitude_deg,
        "SITELONG": camera.observatory.longitude_deg,
        "OBJCTRA": pointing.get("ra_hours"),
        "OBJCTDEC": pointing.get("dec_deg"),
        "OBJCTALT": pointing.get("altitude_deg"),
        "OBJCTAZ": pointing.get("azimuth_deg"),
    }
    stamp = started_at.strftime("%Y%m%dT%H%M%S%f")
    exposure = Exposure(
        camera=camera,
        operation=operation,
        session=session,
        started_at=started_at,
        duration_s=duration_s,
        light=light,
        width=image.shape[1],
        height=image.shape[0],
        binning=binning,
        pointing=pointing,
        stats=imaging.image_stats(image),
    )
    exposure.fits.save(f"{camera.pk}-{stamp}.fits", ContentFile(imaging.fits_bytes(image, header)), save=False)
    exposure.preview.save(f"{camera.pk}-{stamp}.png", ContentFile(imaging.png_preview(image)), save=False)
    exposure.save()
    live.publish(
        "telescopes",
        {"kind": "exposure", "id": exposure.pk, "camera": camera.pk, "light": light, "started_at": started_at},
        organization=camera.observatory.organization,
    )
    return exposure


class FocuserMove(Handler):
    def start(self, operation, focuser):
        position = int(operation.params["position"])
        if not 0 <= position <= focuser.MaxStep:
            raise TelescopeError(f"position {position} is outside 0..{focuser.MaxStep}", field="position")
        focuser.Move(position)
        return Wait({})

    def poll(self, operation, focuser):
        if focuser.IsMoving:
            return Wait({"position": focuser.Position})
        return Done({"position": focuser.Position})


class Shutter(Handler):
    def __init__(self, opening: bool):
        self.opening = opening

    def start(self, operation, dome):
        dome.OpenShutter() if self.opening else dome.CloseShutter()
        return self.poll(operation, dome)

    def poll(self, operation, dome):
        state = int(dome.ShutterStatus)
        if state == SHUTTER_ERROR:
            raise client.DeviceError(f"{client.label(operation.device)} reports a shutter error")
        if state == (SHUTTER_OPEN if self.opening else SHUTTER_CLOSED):
            return Done({"shutter": "open" if self.opening else "closed"})
        return Wait({"shutter_status": state})


HANDLERS = {
    OperationKind.CONNECT: Connect(True),
    OperationKind.DISCONNECT: Connect(False),
    OperationKind.UNPARK: Unpark(),
    OperationKind.PARK: Park(),
    OperationKind.SLEW_RADEC: SlewRaDec(),
    OperationKind.SLEW_ALTAZ: SlewAltAz(),
    OperationKind.ABORT: Abort(),
    OperationKind.TRACKING: Tracking(),
    OperationKind.EXPOSE: Expose(),
    OperationKind.FOCUSER_MOVE: FocuserMove(),
    OperationKind.DOME_OPEN: Shutter(True),
    OperationKind.DOME_CLOSE: Shutter(False),
}

assert set(HANDLERS) == set(OperationKind.values)
assert all(status in OperationStatus.values for status in FINISHED_STATUSES)
