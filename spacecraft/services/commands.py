"""The command queue: create, approve (two-person rule), release, transmit, acknowledge,
execute on the simulated spacecraft runtime, time out, cancel. Every transition is an event."""

from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from missionops import live
from missionops.exceptions import ConflictError, DomainError
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..catalogue import validate_command
from ..models import Command, CommandState, Mode, ReleaseMode, Spacecraft
from ..representations import CommandSerializer
from ..signals import command_executed
from . import fleet


class CommandStateError(ConflictError):
    pass


def _publish(command: Command) -> None:
    """The command as the REST API shows it, to the spacecraft's page (the `sc.<id>` topic)."""
    message = live.live_message("command", CommandSerializer, command)
    live.publish(f"sc.{command.spacecraft_id}", message, organization=command.spacecraft.organization_id)


def _transition(command: Command, state: CommandState, *, actor=None, at_field: str | None = None, **changes):
    previous = command.state
    command.state = state
    fields = ["state", *changes]
    for name, value in changes.items():
        setattr(command, name, value)
    if at_field:
        setattr(command, at_field, timezone.now())
        fields.append(at_field)
    command.save(update_fields=fields)
    spacecraft = command.spacecraft
    record_event(
        organization=spacecraft.organization,
        kind=f"command.{state}",
        subject=command,
        actor=actor,
        spacecraft_id=spacecraft.pk,
        payload={
            "command": command.name,
            "args": command.args,
            "from": previous,
            "to": state,
            "reason": command.failure_reason,
        },
    )
    _publish(command)
    return command


@transaction.atomic
def create_command(
    *,
    spacecraft: Spacecraft,
    name: str,
    args: dict | None = None,
    actor=None,
    priority: int = 5,
    release_mode: str = ReleaseMode.IMMEDIATE,
    ack_timeout_s: int = 30,
) -> Command:
    """Queue a validated command. A spacecraft in survival mode refuses non-essential ones.
    A non-critical immediate command is released at once; a critical one waits for approval."""
    spec, clean = validate_command(spacecraft.mission_type, name, args or {})
    if not 1 <= priority <= 9:
        raise DomainError("priority must be between 1 (highest) and 9", field="priority")
    if release_mode not in ReleaseMode.values:
        raise DomainError(f"release_mode must be one of {', '.join(ReleaseMode.values)}", field="release_mode")
    if not 1 <= ack_timeout_s <= 3600:
        raise DomainError("ack_timeout_s must be between 1 and 3600", field="ack_timeout_s")
    # Locked: a concurrent switch to survival (update_state) either commits first and is seen
    # here, or waits for this command to be queued.
    spacecraft = Spacecraft.objects.select_for_update(of=("self",)).select_related("organization").get(pk=spacecraft.pk)
    if spacecraft.mode == Mode.SURVIVAL and not spec.essential:
        raise ConflictError(
            f"{spacecraft.designation} is in survival mode and accepts only essential commands; "
            f"{name} is not essential",
            field="name",
        )
    command = Command.objects.create(
        spacecraft=spacecraft,
        name=name,
        args=clean,
        critical=spec.critical,
        priority=priority,
        release_mode=release_mode,
        created_by=user_or_none(actor),
        ack_timeout_s=ack_timeout_s,
    )
    record_event(
        organization=spacecraft.organization,
        kind="command.queued",
        subject=command,
        actor=actor,
        spacecraft_id=spacecraft.pk,
        payload={"command": name, "args": clean, "critical": spec.critical, "release_mode": release_mode},
    )
    _publish(command)
    if not command.critical and release_mode == ReleaseMode.IMMEDIATE:
        command = release_command(command=command)
    return command


@transaction.atomic
def approve_command(*, command: Command, actor) -> Command:
    """Two-person rule: a critical command is approved by an operator other than its author."""
    command = _locked(command)
    if not command.critical:
        raise CommandStateError(f"{command.name} is not critical and needs no approval", field="command")
    if command.state != CommandState.QUEUED or command.approved_by_id:
        raise CommandStateError(f"command {command.pk} is {command.state}, not awaiting approval", field="command")
    if command.created_by_id == actor.pk:
        raise CommandStateError("two-person rule: a critical command needs another operator's approval", field="actor")
    command.approved_by, command.approved_at = actor, timezone.now()
    command.save(update_fields=["approved_by", "approved_at"])
    for kind in ("command.approved", "security.command.approved"):  # the queue's story and the audit trail
        record_event(
            organization=command.spacecraft.organization,
            kind=kind,
            subject=command,
            actor=actor,
            spacecraft_id=command.spacecraft_id,
            payload={"command": command.name},
        )
    _publish(command)  # other operators' pages drop the Approve button now, also when release waits
    if command.release_mode == ReleaseMode.IMMEDIATE:
        command = release_command(command=command)
    return command


@transaction.atomic
def cancel_command(*, command: Command, actor, reason: str = "") -> Command:
    """Cancel a queued or released command; anything later raises CommandStateError."""
    command = _locked(command)
    if not command.can_cancel:
        raise CommandStateError(f"command {command.pk} is {command.state}; only queued or released commands cancel")
    return _transition(
        command,
        CommandState.CANCELED,
        actor=actor,
        at_field="finished_at",
        canceled_by=actor,
        failure_reason=reason[:300] or "canceled by operator",
    )


@transaction.atomic
def release_command(*, command: Command) -> Command:
    """Queued → released, then hand the command to a Celery worker after commit."""
    command = _locked(command)
    if command.state != CommandState.QUEUED:
        return command  # idempotent: already on its way
    if command.awaiting_approval:
        raise CommandStateError(f"command {command.pk} awaits a second operator's approval")
    _transition(command, CommandState.RELEASED, at_field="released_at")
    task = import_string("spacecraft.tasks.transmit_command")  # by name: the tasks module imports this one
    transaction.on_commit(lambda: task.delay(command.pk))
    return command


def transmit(*, command_id: int) -> Command | None:
    """Released → sent, then (if the simulated link is up) acknowledged → executed / failed.
    Safe to run twice: only a released command is sent."""
    with transaction.atomic():
        command = (
            Command.objects.select_for_update().select_related("spacecraft__organization").filter(pk=command_id).first()
        )
        if command is None or command.state != CommandState.RELEASED:
            return command
        _transition(command, CommandState.SENT, at_field="sent_at")
    if not command.spacecraft.runtime.get("link_available", True):
        return command  # nobody answers: expire_unacknowledged will time it out
    with transaction.atomic():
        command = _locked(command)
        if command.state != CommandState.SENT:
            return command
        _transition(command, CommandState.ACKNOWLEDGED, at_field="acknowledged_at")
        try:
            with transaction.atomic():
                result = execute_on_runtime(command)
        except DomainError as refused:
            return _transition(
                command, CommandState.FAILED, at_field="finished_at", failure_reason=refused.message[:300]
            )
        return _transition(command, CommandState.EXECUTED, at_field="finished_at", result=result)


@transaction.atomic
def expire_unacknowledged(*, now=None) -> int:
    """Sent commands past their acknowledgement timeout become timed out. Returns how many."""
    now = now or timezone.now()
    expired = 0
    candidates = Command.objects.select_for_update(skip_locked=True).select_related("spacecraft__organization")
    for command in candidates.filter(state=CommandState.SENT):
        if command.sent_at + timedelta(seconds=command.ack_timeout_s) <= now:
            _transition(
                command,
                CommandState.TIMED_OUT,
                at_field="finished_at",
                failure_reason=f"no acknowledgement within {command.ack_timeout_s} s",
            )
            expired += 1
    return expired


def in_contact(*, spacecraft: Spacecraft, at) -> bool:
    """Whether the contact plan (orbits app) has this spacecraft in contact at `at`."""
    try:
        contact_model = apps.get_model("orbits", "Contact")
    except LookupError:
        return False
    return contact_model.objects.filter(spacecraft=spacecraft, start__lte=at, end__gt=at).exists()


def release_at_contact(*, now=None) -> int:
    """Release queued next-contact commands of every spacecraft now in a scheduled contact."""
    now = now or timezone.now()
    waiting = Command.objects.filter(state=CommandState.QUEUED, release_mode=ReleaseMode.NEXT_CONTACT).select_related(
        "spacecraft"
    )
    released = 0
    for command in waiting.order_by("priority", "created_at"):
        if command.awaiting_approval or not in_contact(spacecraft=command.spacecraft, at=now):
            continue
        release_command(command=command)
        released += 1
    return released


def _locked(command: Command) -> Command:
    return Command.objects.select_for_update().select_related("spacecraft__organization").get(pk=command.pk)


def execute_on_runtime(command: Command) -> dict:
    """Apply a command to the simulated spacecraft. Raises DomainError when the spacecraft refuses."""
    spacecraft = Spacecraft.objects.select_for_update().get(pk=command.spacecraft_id)
    runtime = dict(spacecraft.runtime)
    name, args = command.name, command.args
    result: dict = {}
    if name == "ping":
        result = {"pong": True}
    elif name == "set_mode":
        spacecraft = fleet.update_state(spacecraft=spacecraft, mode=args["mode"], reason=f"command {command.pk}")
        result = {"mode": spacecraft.mode}
    elif name == "reboot":
        runtime["boot_count"] = runtime.get("boot_count", 0) + 1
        if args["subsystem"] == "payload":
            runtime["payload_on"] = False
        if args["subsystem"] == "obc":
            fleet.update_state(spacecraft=spacecraft, memory_used_pct=min(spacecraft.memory_used_pct, 5.0))
        result = {"rebooted": args["subsystem"], "boot_count": runtime["boot_count"]}
    elif name == "memory_dump":
        result = {"bytes": args["length"], "start": args["start"]}
    elif name == "clear_memory":
        freed = min(spacecraft.memory_used_pct, args["percent"])
        fleet.update_state(spacecraft=spacecraft, memory_used_pct=spacecraft.memory_used_pct - freed)
        result = {"freed_pct": freed}
    elif name == "payload_on":
        if spacecraft.mode in (Mode.SAFE, Mode.SURVIVAL):
            raise DomainError(f"payload cannot be powered in {spacecraft.mode} mode")
        runtime["payload_on"] = True
    elif name == "payload_off":
        runtime["payload_on"] = False
    elif name == "capture_image":
        if not runtime.get("payload_on"):
            raise DomainError("payload is off: send payload_on first")
        if spacecraft.memory_used_pct >= 99.5:
            raise DomainError("mass memory full")
        runtime["images_captured"] = runtime.get("images_captured", 0) + 1
        fleet.update_state(spacecraft=spacecraft, memory_used_pct=min(100.0, spacecraft.memory_used_pct + 0.5))
        result = {"images_captured": runtime["images_captured"]}
    elif name == "rw_reset":
        runtime.setdefault("rw_resets", {})
        runtime["rw_resets"][str(args["wheel"])] = runtime["rw_resets"].get(str(args["wheel"]), 0) + 1
    else:  # parameter-setting commands: the runtime remembers the value
        runtime[name] = args
    runtime["commands_executed"] = runtime.get("commands_executed", 0) + 1
    Spacecraft.objects.filter(pk=spacecraft.pk).update(runtime=runtime)
    command_executed.send(sender=Spacecraft, spacecraft=spacecraft, runtime=runtime)  # telemetry reports it
    return result
