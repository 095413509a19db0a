"""Spacecraft operations: registry, live state with mode rules, versioned configuration."""

from django.db import IntegrityError, transaction
from guardian.shortcuts import assign_perm

from missionops import live
from missionops.exceptions import ConflictError, DomainError
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..config import diff_parameters, validate_parameters
from ..models import ConfigVersion, Constellation, Mode, Spacecraft
from ..representations import ConfigVersionSerializer, SpacecraftRepresentation
from ..signals import config_changed

REGISTRY_FIELDS = (
    "designation",
    "name",
    "norad_id",
    "mission_type",
    "constellation",
    "safe_soc_threshold_pct",
    "survival_soc_threshold_pct",
)


def _publish_state(spacecraft: Spacecraft) -> None:
    """The spacecraft as the REST API shows it (less the caller's `can_operate`), to its page and the fleet."""
    message = live.live_message("state", SpacecraftRepresentation, spacecraft)
    live.publish_many((f"sc.{spacecraft.pk}", "fleet"), message, organization=spacecraft.organization_id)


def _check_thresholds(safe: float, survival: float) -> None:
    for field, value in (("safe_soc_threshold_pct", safe), ("survival_soc_threshold_pct", survival)):
        if not 0 <= value <= 100:
            raise DomainError(f"{field} must be between 0 and 100", field=field)
    if survival > safe:
        raise DomainError(
            f"survival threshold ({survival}%) must not exceed the safe threshold ({safe}%)",
            field="survival_soc_threshold_pct",
        )


def _check_constellation(organization: Organization, constellation: Constellation | None) -> None:
    if constellation is not None and constellation.organization_id != organization.pk:
        raise DomainError("constellation belongs to another organization", field="constellation")


@transaction.atomic
def create_spacecraft(
    *, organization: Organization, actor=None, parameters: dict | None = None, **fields
) -> Spacecraft:
    """Register a spacecraft, grant the organization's groups their permissions on it, and store
    configuration version 1 (possibly empty). Designation and NORAD id are unique per organization."""
    spacecraft = Spacecraft(organization=organization, **fields)
    _check_thresholds(spacecraft.safe_soc_threshold_pct, spacecraft.survival_soc_threshold_pct)
    _check_constellation(organization, spacecraft.constellation)
    _ensure_unique(spacecraft)
    spacecraft.save()
    assign_perm("spacecraft.view_spacecraft", organization.viewers_group, spacecraft)
    assign_perm("spacecraft.view_spacecraft", organization.operators_group, spacecraft)
    assign_perm("spacecraft.operate_spacecraft", organization.operators_group, spacecraft)
    first = ConfigVersion.objects.create(
        spacecraft=spacecraft,
        version=1,
        parameters=validate_parameters(parameters or {}),
        diff=diff_parameters({}, validate_parameters(parameters or {})),
        note="initial configuration",
        created_by=user_or_none(actor),
    )
    config_changed.send(sender=Spacecraft, spacecraft=spacecraft, version=first)  # telemetry syncs its definitions
    record_event(
        organization=organization,
        kind="spacecraft.created",
        subject=spacecraft,
        actor=actor,
        payload={"designation": spacecraft.designation, "mission_type": spacecraft.mission_type},
    )
    _publish_state(spacecraft)
    return spacecraft


def _ensure_unique(spacecraft: Spacecraft) -> None:
    others = Spacecraft.objects.filter(organization_id=spacecraft.organization_id).exclude(pk=spacecraft.pk)
    if others.filter(designation=spacecraft.designation).exists():
        raise ConflictError(f"designation {spacecraft.designation!r} is already in use", field="designation")
    if spacecraft.norad_id is not None and others.filter(norad_id=spacecraft.norad_id).exists():
        raise ConflictError(f"NORAD id {spacecraft.norad_id} is already in use", field="norad_id")


@transaction.atomic
def update_spacecraft(*, spacecraft: Spacecraft, actor=None, **fields) -> Spacecraft:
    """Change registry fields (not live state: that goes through update_state); a change is pushed
    to `sc.<id>` and `fleet` after commit."""
    unknown = set(fields) - set(REGISTRY_FIELDS)
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]} cannot be changed here", field=sorted(unknown)[0])
    spacecraft = Spacecraft.objects.select_for_update().get(pk=spacecraft.pk)
    before = {name: getattr(spacecraft, name) for name in fields}
    for name, value in fields.items():
        setattr(spacecraft, name, value)
    _check_thresholds(spacecraft.safe_soc_threshold_pct, spacecraft.survival_soc_threshold_pct)
    _check_constellation(spacecraft.organization, spacecraft.constellation)
    _ensure_unique(spacecraft)
    changed = {n: {"from": str(before[n]), "to": str(v)} for n, v in fields.items() if before[n] != v}
    if not changed:
        return spacecraft
    spacecraft.save(update_fields=[*changed, "updated_at"])
    record_event(
        organization=spacecraft.organization,
        kind="spacecraft.updated",
        subject=spacecraft,
        actor=actor,
        payload=changed,
    )
    _publish_state(spacecraft)  # open fleet and detail pages show a rename at once
    return spacecraft


@transaction.atomic
def delete_spacecraft(*, spacecraft: Spacecraft, actor=None) -> None:
    """Delete a spacecraft with its history, announced in the event log first."""
    record_event(
        organization=spacecraft.organization,
        kind="spacecraft.deleted",
        subject=spacecraft,
        actor=actor,
        payload={"designation": spacecraft.designation},
    )
    live.publish(
        "fleet", {"kind": "deleted", "data": {"id": str(spacecraft.pk)}}, organization=spacecraft.organization_id
    )
    spacecraft.delete()


@transaction.atomic
def update_state(
    *,
    spacecraft: Spacecraft,
    actor=None,
    mode: Mode | str | None = None,
    battery_soc_pct: float | None = None,
    memory_used_pct: float | None = None,
    reason: str = "",
) -> Spacecraft:
    """Apply a live-state update and the battery mode rules.

    Guarantees: below the survival threshold the spacecraft is in survival; below the safe
    threshold it is in safe or survival (a requested nominal/standby is overridden); an operator
    cannot command a mode the battery rules forbid (ConflictError). Every mode change records a
    `mode.changed` event; every update is pushed to `sc.<id>` and `fleet` after commit.
    """
    for field, value in (("battery_soc_pct", battery_soc_pct), ("memory_used_pct", memory_used_pct)):
        if value is not None and not 0 <= value <= 100:
            raise DomainError(f"{field} must be between 0 and 100, got {value}", field=field)
    if mode is not None and mode not in Mode.values:
        raise DomainError(f"unknown mode {mode!r}; one of {', '.join(Mode.values)}", field="mode")

    spacecraft = Spacecraft.objects.select_for_update().select_related("organization").get(pk=spacecraft.pk)
    previous_mode = spacecraft.mode
    if battery_soc_pct is not None:
        spacecraft.battery_soc_pct = battery_soc_pct
    if memory_used_pct is not None:
        spacecraft.memory_used_pct = memory_used_pct

    forced = spacecraft.mode_forced_by_battery()
    if mode is not None and forced is not None and _severity(mode) < _severity(forced):
        raise ConflictError(
            f"cannot enter {mode}: battery at {spacecraft.battery_soc_pct:g}% is below the {forced} threshold",
            field="mode",
        )
    new_mode = mode or spacecraft.mode
    rule = ""
    if forced is not None and _severity(new_mode) < _severity(forced):
        new_mode, rule = forced, f"battery {spacecraft.battery_soc_pct:g}% below {forced} threshold"
    spacecraft.mode = new_mode
    spacecraft.save(update_fields=["mode", "battery_soc_pct", "memory_used_pct", "updated_at"])

    if new_mode != previous_mode:
        record_event(
            organization=spacecraft.organization,
            kind="mode.changed",
            subject=spacecraft,
            actor=actor if not rule else None,
            payload={
                "from": previous_mode,
                "to": new_mode,
                "reason": rule or reason or "commanded",
                "battery_soc_pct": spacecraft.battery_soc_pct,
            },
        )
    _publish_state(spacecraft)
    return spacecraft


_SEVERITY = {Mode.NOMINAL: 0, Mode.STANDBY: 0, Mode.SAFE: 1, Mode.SURVIVAL: 2}


def _severity(mode: str) -> int:
    return _SEVERITY[Mode(mode)]


@transaction.atomic
def change_config(*, spacecraft: Spacecraft, parameters: dict, actor=None, note: str = "") -> ConfigVersion:
    """Store a new immutable configuration version with the diff from the current one.

    The whole set is validated first: an invalid set stores nothing. An identical set is a
    ConflictError (no empty versions). Concurrent changes are serialized on the spacecraft row.
    """
    clean = validate_parameters(parameters)
    spacecraft = Spacecraft.objects.select_for_update().select_related("organization").get(pk=spacecraft.pk)
    current = spacecraft.current_config
    old = current.parameters if current else {}
    diff = diff_parameters(old, clean)
    if not (diff["added"] or diff["removed"] or diff["changed"]):
        raise ConflictError("configuration unchanged: no new version made", field="parameters")
    try:
        version = ConfigVersion.objects.create(
            spacecraft=spacecraft,
            version=(current.version if current else 0) + 1,
            parameters=clean,
            diff=diff,
            note=note[:300],
            created_by=user_or_none(actor),
        )
    except IntegrityError as exc:  # pragma: no cover - guarded by the row lock above
        raise ConflictError("configuration changed concurrently; retry", field="parameters") from exc
    config_changed.send(sender=Spacecraft, spacecraft=spacecraft, version=version)  # telemetry syncs its definitions
    record_event(
        organization=spacecraft.organization,
        kind="security.config.changed",
        subject=spacecraft,
        actor=actor,
        payload={"version": version.version},
    )
    record_event(
        organization=spacecraft.organization,
        kind="config.changed",
        subject=spacecraft,
        actor=actor,
        payload={"version": version.version, "diff": diff, "note": version.note},
    )
    live.publish(
        f"sc.{spacecraft.pk}",
        live.live_message("config", ConfigVersionSerializer, version),
        organization=spacecraft.organization_id,
    )
    return version


@transaction.atomic
def create_constellation(*, organization: Organization, name: str, description: str = "", actor=None) -> Constellation:
    """A new constellation in an organization, announced in the event log."""
    if Constellation.objects.filter(organization=organization, name=name).exists():
        raise ConflictError(f"constellation {name!r} already exists", field="name")
    constellation = Constellation.objects.create(organization=organization, name=name, description=description)
    record_event(organization=organization, kind="constellation.created", subject=constellation, actor=actor)
    return constellation


@transaction.atomic
def update_constellation(*, constellation: Constellation, actor=None, **fields) -> Constellation:
    """Rename or describe a constellation, announced in the event log."""
    name = fields.get("name", constellation.name)
    if (
        Constellation.objects.filter(organization=constellation.organization, name=name)
        .exclude(pk=constellation.pk)
        .exists()
    ):
        raise ConflictError(f"constellation {name!r} already exists", field="name")
    for key in ("name", "description"):
        if key in fields:
            setattr(constellation, key, fields[key])
    constellation.save(update_fields=["name", "description"])
    record_event(
        organization=constellation.organization, kind="constellation.updated", subject=constellation, actor=actor
    )
    return constellation


@transaction.atomic
def delete_constellation(*, constellation: Constellation, actor=None) -> None:
    """Delete a constellation (its spacecraft stay, without one), announced in the event log."""
    record_event(
        organization=constellation.organization, kind="constellation.deleted", subject=constellation, actor=actor
    )
    constellation.delete()
