"""Validation and diffing of a spacecraft parameter set (the body of a ConfigVersion)."""

import math
import re

from missionops.exceptions import DomainError

from .models import Mode, ParameterType, Subsystem

PARAMETER_NAME = re.compile(r"\A[a-z][a-z0-9_]{0,63}\Z")  # \Z: "$" would let a trailing newline in
MAX_EXACT_INT = 2**53  # larger integers lose digits as doubles (the database, JavaScript clients)
LIMIT_KEYS = ("warn_low", "warn_high", "crit_low", "crit_high")
# Keys of a parameter's configuration that another app owns and validates (the anomalies app's
# "detectors"), registered from its AppConfig.ready: key -> validate(value, where) -> clean value.
_settings_of_other_apps: dict = {}


def register_parameter_setting(*, key: str, validate) -> None:
    """Let another app own one key of a parameter's configuration, validated with the rest."""
    _settings_of_other_apps[key] = validate


KNOWN_KEYS = {
    "subsystem",
    "units",
    "type",
    "description",
    *LIMIT_KEYS,
    "enum_values",
    "expected_interval_s",
    "limits_by_mode",
    "latching",
    "suppress_in_modes",
}


def validate_parameters(parameters) -> dict:
    """Return the normalized parameter set or raise DomainError naming the offending field."""
    if not isinstance(parameters, dict):
        raise DomainError("parameters must be an object of name -> definition", field="parameters")
    return {name: _validate_parameter(name, spec) for name, spec in sorted(parameters.items())}


def _validate_parameter(name: str, spec) -> dict:
    where = f"parameters.{name}"
    if not PARAMETER_NAME.match(name):
        raise DomainError(
            "parameter names are lowercase letters, digits and underscores, starting with a letter", field=where
        )
    if not isinstance(spec, dict):
        raise DomainError("a parameter definition must be an object", field=where)
    unknown = sorted(set(spec) - KNOWN_KEYS - set(_settings_of_other_apps))
    if unknown:
        raise DomainError(f"unknown key {unknown[0]!r}", field=f"{where}.{unknown[0]}")
    subsystem = spec.get("subsystem")
    if subsystem not in Subsystem.values:
        raise DomainError(
            f"unknown subsystem {subsystem!r}; one of {', '.join(Subsystem.values)}", field=f"{where}.subsystem"
        )
    ptype = spec.get("type", ParameterType.FLOAT)
    if ptype not in ParameterType.values:
        raise DomainError(f"unknown type {ptype!r}; one of {', '.join(ParameterType.values)}", field=f"{where}.type")
    units = spec.get("units", "")
    if not isinstance(units, str) or len(units) > 32:
        raise DomainError("units must be a string of at most 32 characters", field=f"{where}.units")
    clean = {"subsystem": subsystem, "type": ptype, "units": units}
    if spec.get("description"):
        clean["description"] = str(spec["description"])[:300]

    limits = _validate_limits(spec, where, ptype)
    clean.update(limits)
    if ptype == ParameterType.ENUM:
        values = spec.get("enum_values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise DomainError("an enum parameter needs enum_values, a list of strings", field=f"{where}.enum_values")
        clean["enum_values"] = values
    elif "enum_values" in spec:
        raise DomainError("enum_values only apply to enum parameters", field=f"{where}.enum_values")

    if "expected_interval_s" in spec:
        interval = spec["expected_interval_s"]
        if not is_number(interval) or interval <= 0:
            raise DomainError("expected_interval_s must be a positive number", field=f"{where}.expected_interval_s")
        clean["expected_interval_s"] = interval
    if "latching" in spec:
        if not isinstance(spec["latching"], bool):
            raise DomainError("latching must be true or false", field=f"{where}.latching")
        clean["latching"] = spec["latching"]
    if "suppress_in_modes" in spec:
        modes = spec["suppress_in_modes"]
        if not isinstance(modes, list) or not all(m in Mode.values for m in modes):
            raise DomainError(
                f"suppress_in_modes must be a list of modes ({', '.join(Mode.values)})",
                field=f"{where}.suppress_in_modes",
            )
        clean["suppress_in_modes"] = sorted(set(modes))
    if "limits_by_mode" in spec:
        by_mode = spec["limits_by_mode"]
        if not isinstance(by_mode, dict):
            raise DomainError("limits_by_mode must map a mode to limits", field=f"{where}.limits_by_mode")
        clean["limits_by_mode"] = {}
        for mode, mode_limits in by_mode.items():
            mode_where = f"{where}.limits_by_mode.{mode}"
            if mode not in Mode.values:
                raise DomainError(f"unknown mode {mode!r}; one of {', '.join(Mode.values)}", field=mode_where)
            if not isinstance(mode_limits, dict) or set(mode_limits) - set(LIMIT_KEYS):
                raise DomainError(f"mode limits take only {', '.join(LIMIT_KEYS)}", field=mode_where)
            clean["limits_by_mode"][mode] = _validate_limits(mode_limits, mode_where, ptype)
    for key, validate in _settings_of_other_apps.items():
        if key in spec:
            clean[key] = validate(spec[key], f"{where}.{key}")
    return clean


def _validate_limits(spec: dict, where: str, ptype: str) -> dict:
    limits = {}
    for key in LIMIT_KEYS:
        value = spec.get(key)
        if value is None:
            continue
        if ptype not in (ParameterType.FLOAT, ParameterType.INT):
            raise DomainError(f"limits only apply to numeric parameters, not {ptype}", field=f"{where}.{key}")
        if not is_number(value):
            raise DomainError(
                "a limit must be a finite number (integers within ±2**53) or null", field=f"{where}.{key}"
            )
        limits[key] = value
    wl, wh, cl, ch = (limits.get(k) for k in LIMIT_KEYS)
    if wl is not None and wh is not None and wl > wh:
        raise DomainError(f"warn_low ({wl}) must not exceed warn_high ({wh})", field=f"{where}.warn_low")
    if cl is not None and ch is not None and cl > ch:
        raise DomainError(f"crit_low ({cl}) must not exceed crit_high ({ch})", field=f"{where}.crit_low")
    if cl is not None and wl is not None and cl > wl:
        raise DomainError(
            f"crit_low ({cl}) must lie outside the warning band (<= warn_low {wl})", field=f"{where}.crit_low"
        )
    if ch is not None and wh is not None and ch < wh:
        raise DomainError(
            f"crit_high ({ch}) must lie outside the warning band (>= warn_high {wh})", field=f"{where}.crit_high"
        )
    return limits


def is_number(value) -> bool:
    """A JSON number a double holds exactly: a finite float, or an integer within ±2**53."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= MAX_EXACT_INT if isinstance(value, int) else math.isfinite(value)


def diff_parameters(old: dict, new: dict) -> dict:
    """What changed between two parameter sets: added, removed, and per-key changes."""
    changed = {}
    for name in sorted(set(old) & set(new)):
        keys = sorted(set(old[name]) | set(new[name]))
        fields = {
            k: {"from": old[name].get(k), "to": new[name].get(k)} for k in keys if old[name].get(k) != new[name].get(k)
        }
        if fields:
            changed[name] = fields
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": changed,
    }
