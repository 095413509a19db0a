"""The edge to real devices: alpyca objects for our AlpacaDevice rows, and every failure of the wire
or of the device turned into one sentence an operator can act on."""

import requests
from alpaca import exceptions as ascom
from alpaca.camera import Camera
from alpaca.covercalibrator import CoverCalibrator
from alpaca.dome import Dome
from alpaca.filterwheel import FilterWheel
from alpaca.focuser import Focuser
from alpaca.observingconditions import ObservingConditions
from alpaca.rotator import Rotator
from alpaca.safetymonitor import SafetyMonitor
from alpaca.switch import Switch
from alpaca.telescope import Telescope

from .models import AlpacaDevice, DeviceType

CLASSES = {
    DeviceType.TELESCOPE: Telescope,
    DeviceType.CAMERA: Camera,
    DeviceType.DOME: Dome,
    DeviceType.FOCUSER: Focuser,
    DeviceType.FILTERWHEEL: FilterWheel,
    DeviceType.ROTATOR: Rotator,
    DeviceType.SWITCH: Switch,
    DeviceType.SAFETYMONITOR: SafetyMonitor,
    DeviceType.OBSERVINGCONDITIONS: ObservingConditions,
    DeviceType.COVERCALIBRATOR: CoverCalibrator,
}

ASCOM_ERRORS = (
    ascom.ActionNotImplementedException,
    ascom.AlpacaRequestException,
    ascom.DriverException,
    ascom.InvalidOperationException,
    ascom.InvalidValueException,
    ascom.NotConnectedException,
    ascom.NotImplementedException,
    ascom.OperationCancelledException,
    ascom.ParkedException,
    ascom.SlavedException,
    ascom.ValueNotSetException,
)


class DeviceError(Exception):
    """A device operation that did not happen. `offline`: nothing answered (vs. the device refused)."""

    def __init__(self, message: str, *, offline: bool = False):
        super().__init__(message)
        self.message = message
        self.offline = offline


def client_for(device: AlpacaDevice):
    return CLASSES[device.device_type](device.address, device.device_number)


def label(device: AlpacaDevice) -> str:
    return f"{device.get_device_type_display().lower()} {device.name or device.device_number!s} at {device.address}"


def explain(error: Exception, device: AlpacaDevice) -> DeviceError:
    """One clear sentence for a failure talking to `device`."""
    if isinstance(error, DeviceError):
        return error
    who = label(device)
    if isinstance(error, requests.ConnectionError):
        return DeviceError(f"{who} is unreachable: nothing answers (is the Alpaca server running?)", offline=True)
    if isinstance(error, requests.Timeout):
        return DeviceError(f"{who} did not answer in time", offline=True)
    if isinstance(error, requests.RequestException | ValueError | KeyError):
        return DeviceError(
            f"{who} gave an answer that is not Alpaca: {type(error).__name__}: {error}"[:500], offline=True
        )
    if isinstance(error, ascom.ParkedException):
        return DeviceError(f"{who} refused: it is parked (unpark it first)")
    if isinstance(error, ascom.NotConnectedException):
        return DeviceError(f"{who} refused: it is not connected (connect it first)")
    if isinstance(error, ascom.NotImplementedException):
        return DeviceError(f"{who} does not implement this: {_message(error)}")
    if isinstance(error, ASCOM_ERRORS):
        return DeviceError(f"{who} refused: {_message(error)}")
    return DeviceError(f"{who}: {type(error).__name__}: {error}"[:500])


def _message(error: Exception) -> str:
    return (getattr(error, "message", None) or str(error) or type(error).__name__)[:400]
