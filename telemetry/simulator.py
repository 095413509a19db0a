"""Simulated telemetry for the demo fleet: nominal behaviour from the spacecraft profiles, plus
injected faults (spike, drift, stuck value, dropout, noise burst) that are recorded with their
times as ground truth for anomaly detection."""

import datetime as dt
import math
import random
from dataclasses import dataclass

from spacecraft.models import ParameterType
from spacecraft.profiles import NOMINAL, nominal_for

from .models import FaultKind


@dataclass
class ActiveFault:
    parameter: str
    kind: FaultKind
    started_at: dt.datetime
    ended_at: dt.datetime
    magnitude: float
    stuck_value: float | None = None


class SpacecraftSimulator:
    """One spacecraft's parameters over time; deterministic for a given seed."""

    def __init__(self, spacecraft, parameters: dict, *, seed: int = 0):
        self.spacecraft = spacecraft
        self.parameters = parameters
        self.random = random.Random(seed)
        self.phase = self.random.uniform(0, 2 * math.pi)
        self.faults: dict[str, ActiveFault] = {}
        self.counters: dict[str, int] = {}
        # Per spacecraft: the same parameter name means other voltages on other platforms.
        self.nominal_table = {n: nominal_for(n, spec) for n, spec in parameters.items() if n in NOMINAL}

    def numeric(self) -> list[str]:
        return [n for n, s in self.parameters.items() if s.get("type", "float") in ("float", "int") and n in NOMINAL]

    def nominal(self, name: str, moment: dt.datetime) -> float:
        mean, sigma = self.nominal_table.get(name, (0.0, 1.0))
        orbit = math.sin(moment.timestamp() / 5400 * 2 * math.pi + self.phase)  # a 90-minute orbit
        return mean + 0.6 * sigma * orbit + self.random.gauss(0, sigma * 0.4)

    def inject(
        self, *, moment: dt.datetime, kind: FaultKind | None = None, parameter: str | None = None
    ) -> ActiveFault:
        candidates = [n for n in self.numeric() if n not in self.faults] or self.numeric()
        parameter = parameter or self.random.choice(candidates)
        kind = kind or self.random.choice(list(FaultKind))
        duration_s = 2 if kind == FaultKind.SPIKE else self.random.uniform(20, 90)
        _, sigma = self.nominal_table.get(parameter, (0.0, 1.0))
        magnitude = {
            FaultKind.SPIKE: 8 * max(sigma, 0.5),
            FaultKind.DRIFT: 6 * max(sigma, 0.5),  # reached at the end of the fault
            FaultKind.NOISE_BURST: 6.0,  # sigma multiplier
        }.get(kind, 0.0)
        fault = ActiveFault(parameter, kind, moment, moment + dt.timedelta(seconds=duration_s), magnitude)
        self.faults[parameter] = fault
        return fault

    def snapshot(self, moment: dt.datetime) -> dict:
        values = {}
        for name, spec in self.parameters.items():
            ptype = spec.get("type", ParameterType.FLOAT)
            fault = self.faults.get(name)
            if fault and moment >= fault.ended_at:
                del self.faults[name]
                fault = None
            if ptype == ParameterType.ENUM:
                options = spec.get("enum_values") or ["UNKNOWN"]
                values[name] = options[int(moment.timestamp() // 300) % len(options)]
                continue
            if ptype == ParameterType.BOOL:
                values[name] = True
                continue
            if ptype == ParameterType.INT and name not in NOMINAL:
                values[name] = self.counters.setdefault(name, 0)
                continue
            value = self.nominal(name, moment)
            if fault:
                if fault.kind == FaultKind.DROPOUT:
                    continue
                if fault.kind == FaultKind.SPIKE:
                    value += fault.magnitude
                elif fault.kind == FaultKind.DRIFT:
                    progress = (moment - fault.started_at) / (fault.ended_at - fault.started_at)
                    value += fault.magnitude * progress
                elif fault.kind == FaultKind.NOISE_BURST:
                    value += self.random.gauss(0, self.nominal_table.get(name, (0, 1))[1] * fault.magnitude)
                elif fault.kind == FaultKind.STUCK:
                    if fault.stuck_value is None:
                        fault.stuck_value = value
                    value = fault.stuck_value
            if ptype == ParameterType.INT:
                self.counters[name] = self.counters.get(name, int(NOMINAL[name][0])) + (self.random.random() < 0.05)
                value = self.counters[name]
            values[name] = value
        if "battery_soc" in values and isinstance(values["battery_soc"], float):
            values["battery_soc"] = min(100.0, max(0.0, values["battery_soc"]))
        return {"spacecraft": str(self.spacecraft.pk), "timestamp": moment.isoformat(), "parameters": values}
