"""A device's last-read status in words ("connected · exposing · CCD −10.0 °C") instead of the
raw property dump (`connected=false camerastate=2 …`): the ASCOM enumerations by name, units on
measurements, flags only when they are set."""

CAMERA_STATES = ["idle", "waiting", "exposing", "reading out", "downloading", "error"]
SHUTTER_STATES = ["shutter open", "shutter closed", "shutter opening", "shutter closing", "shutter error"]
COVER_STATES = ["no cover", "cover closed", "cover moving", "cover open", "cover state unknown", "cover error"]
CALIBRATOR_STATES = [
    "no calibrator",
    "calibrator off",
    "calibrator warming up",
    "calibrator ready",
    "calibrator state unknown",
    "calibrator error",
]


def _named(names: list[str], value) -> str | None:
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else None


def _number(value, digits: int, unit: str) -> str | None:
    return f"{value:.{digits}f}{unit}".replace("-", "−") if isinstance(value, int | float) else None


def status_words(status: dict) -> str:
    """The status properties a health check read, as a short phrase; '' for none."""
    if not status:
        return ""
    s = status
    parts = ["connected" if s.get("connected") else "not connected"]
    parts += [
        _named(CAMERA_STATES, s.get("camerastate")),
        _number(s.get("ccdtemperature"), 1, " °C CCD"),
        "image ready" if s.get("imageready") else None,
        _named(SHUTTER_STATES, s.get("shutterstatus")),
        _named(COVER_STATES, s.get("coverstate")),
        _named(CALIBRATOR_STATES, s.get("calibratorstate")),
        "parked" if s.get("atpark") else None,
        "slewing" if s.get("slewing") else None,
        "moving" if s.get("ismoving") else None,
        "tracking" if s.get("tracking") else None,
        f"Alt {s['altitude']:.2f}° Az {s['azimuth']:.2f}°" if isinstance(s.get("altitude"), int | float)
        and isinstance(s.get("azimuth"), int | float) else _number(s.get("azimuth"), 1, "° azimuth"),
        f"position {s['position']}" if s.get("position") is not None else None,
        _number(s.get("temperature"), 1, " °C"),
        {True: "safe", False: "unsafe"}.get(s.get("issafe")),
        _number(s.get("cloudcover"), 0, " % cloud"),
        _number(s.get("humidity"), 0, " % humidity"),
        _number(s.get("windspeed"), 1, " m/s wind"),
        f"{s['maxswitch']} switches" if s.get("maxswitch") is not None else None,
    ]  # fmt: skip
    return " · ".join(p for p in parts if p)
