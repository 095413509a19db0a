"""The command catalogue: which telecommands each mission type accepts, their arguments, and
whether they are critical (two-person rule) or essential (accepted even in survival mode)."""

from dataclasses import dataclass, field

from missionops.exceptions import DomainError

from .config import is_number
from .models import Mode


@dataclass(frozen=True)
class Arg:
    type: str  # int | float | str | enum | bool
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    default: object = None
    max_length: int = 200

    def clean(self, name: str, value):
        where = f"args.{name}"
        if self.type == "bool":
            if not isinstance(value, bool):
                raise DomainError(f"{name} must be true or false", field=where)
            return value
        if self.type in ("int", "float"):
            if not is_number(value):
                raise DomainError(f"{name} must be a finite number (integers within ±2**53)", field=where)
            if self.type == "int" and value != int(value):
                raise DomainError(f"{name} must be a whole number", field=where)
            if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
                raise DomainError(f"{name} must be between {self.minimum:g} and {self.maximum:g}", field=where)
            return int(value) if self.type == "int" else float(value)
        if not isinstance(value, str):
            raise DomainError(f"{name} must be a string", field=where)
        if self.type == "enum" and value not in self.choices:
            raise DomainError(f"{name} must be one of {', '.join(self.choices)}", field=where)
        if len(value) > self.max_length:
            raise DomainError(f"{name} is longer than {self.max_length} characters", field=where)
        return value

    def describe(self) -> dict:
        described = {"type": self.type, "required": self.required}
        for key, value in (("min", self.minimum), ("max", self.maximum), ("default", self.default)):
            if value is not None:
                described[key] = value
        if self.choices:
            described["choices"] = list(self.choices)
        return described


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str
    args: dict[str, Arg] = field(default_factory=dict)
    critical: bool = False
    essential: bool = False

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "critical": self.critical,
            "essential": self.essential,
            "args": {name: arg.describe() for name, arg in self.args.items()},
        }


COMMON = [
    CommandSpec("ping", "Round-trip check of the command link.", essential=True),
    CommandSpec(
        "set_mode", "Command an operating mode.", {"mode": Arg("enum", choices=tuple(Mode.values))}, essential=True
    ),
    CommandSpec(
        "reboot",
        "Reboot a subsystem.",
        {"subsystem": Arg("enum", choices=("obc", "adcs", "comms", "payload"))},
        critical=True,
        essential=True,
    ),
    CommandSpec(
        "memory_dump",
        "Downlink a memory region.",
        {"start": Arg("int", 0, 2**32 - 1), "length": Arg("int", 1, 65536)},
    ),
    CommandSpec("clear_memory", "Free on-board mass memory.", {"percent": Arg("float", 0, 100)}, critical=True),
    CommandSpec("payload_on", "Power the payload on."),
    CommandSpec("payload_off", "Power the payload off (saves energy).", essential=True),
]
BY_MISSION = {
    "LEO_IMAGING": [
        CommandSpec(
            "capture_image",
            "Take an image (payload must be on).",
            {"exposure_ms": Arg("int", 1, 5000), "target": Arg("str", required=False, default="", max_length=80)},
        ),
        CommandSpec("rw_reset", "Reset a reaction wheel.", {"wheel": Arg("int", 1, 2)}, critical=True),
    ],
    "GNSS": [
        CommandSpec("clock_adjust", "Step the on-board clock.", {"offset_ns": Arg("float", -1000, 1000)}, critical=True)
    ],
    "GEO_COMMS": [CommandSpec("transponder_gain", "Set transponder gain.", {"gain_db": Arg("float", -10, 10)})],
    "CUBESAT": [
        CommandSpec("beacon_interval", "Set the beacon period.", {"seconds": Arg("int", 5, 600)}),
        CommandSpec("detumble", "Run the detumbling controller."),
    ],
}


def catalogue_for(mission_type: str) -> dict[str, CommandSpec]:
    return {spec.name: spec for spec in [*COMMON, *BY_MISSION.get(mission_type, [])]}


def validate_command(mission_type: str, name: str, args) -> tuple[CommandSpec, dict]:
    """Return the spec and cleaned arguments, or raise DomainError naming the argument."""
    catalogue = catalogue_for(mission_type)
    spec = catalogue.get(name)
    if spec is None:
        raise DomainError(
            f"unknown command {name!r} for {mission_type}; one of {', '.join(sorted(catalogue))}", field="name"
        )
    if not isinstance(args, dict):
        raise DomainError("args must be an object", field="args")
    unknown = sorted(set(args) - set(spec.args))
    if unknown:
        raise DomainError(f"{name} takes no argument {unknown[0]!r}", field=f"args.{unknown[0]}")
    clean = {}
    for arg_name, arg in spec.args.items():
        if arg_name not in args:
            if arg.required:
                raise DomainError(f"{name} needs {arg_name}", field=f"args.{arg_name}")
            clean[arg_name] = arg.default
            continue
        clean[arg_name] = arg.clean(arg_name, args[arg_name])
    return spec, clean
