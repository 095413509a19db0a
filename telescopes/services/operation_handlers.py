"""One handler per operation kind: `start` sends the command, `poll` reads the device until it is
done (Done) or says to look again (Wait)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils import timezone

from .. import astro, client
from ..exceptions import TelescopeError
from ..models import AlpacaDevice, DeviceType, Operation, OperationKind, OperationStatus
from .exposures import CAMERA_ERROR, store_exposure
from .operation_records import finish_operation

POINTING_TOLERANCE_DEG = 0.05
SHUTTER_OPEN, SHUTTER_CLOSED, SHUTTER_ERROR = 0, 1, 4
MOTION_KINDS = (OperationKind.SLEW_RADEC, OperationKind.SLEW_ALTAZ, OperationKind.PARK, OperationKind.UNPARK)


@dataclass
class Done:
    result: dict


@dataclass
class Wait:
    progress: dict


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
            if finish_operation(
                operation=other, status=OperationStatus.CANCELLED, error=f"aborted by operation {operation.pk}"
            ):
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
