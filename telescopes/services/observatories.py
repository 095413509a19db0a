"""Observatories and their devices: create, register by hand or by discovery, remove."""

from dataclasses import asdict, dataclass, field

from django.db import IntegrityError, transaction

from missionops import live
from missionops.services import record_event

from .. import client, discovery
from ..exceptions import DiscoveryError, TelescopeError
from ..models import AlpacaDevice, DeviceType, Observatory
from ..representations import DeviceSerializer

OBSERVATORY_FIELDS = (
    "name",
    "latitude_deg",
    "longitude_deg",
    "altitude_m",
    "horizon_limit_deg",
    "discovery_hosts",
    "discovery_interface",
)


def _check_observatory(values: dict) -> None:
    if "discovery_hosts" in values:
        try:
            discovery.parse_targets(values["discovery_hosts"])
        except discovery.DiscoveryConfigError as error:
            raise TelescopeError(str(error), field="discovery_hosts") from error
    for name, low, high in (("latitude_deg", -90, 90), ("longitude_deg", -180, 180), ("horizon_limit_deg", 0, 89)):
        if name in values and not low <= values[name] <= high:
            raise TelescopeError(f"{name} must be between {low} and {high}", field=name)


def _check_name_free(organization, name, *, renaming: Observatory | None = None) -> None:
    """An observatory's name is unique in its organization: 409 naming the field otherwise."""
    namesakes = Observatory.objects.filter(organization=organization, name=name)
    if renaming is not None:
        namesakes = namesakes.exclude(pk=renaming.pk)
    if namesakes.exists():
        raise TelescopeError(f"an observatory named {name!r} exists already", field="name", conflict=True)


@transaction.atomic
def create_observatory(*, organization, actor=None, **values) -> Observatory:
    """A new observatory of `organization`; its name is unique there (409 otherwise)."""
    values = {k: v for k, v in values.items() if k in OBSERVATORY_FIELDS}
    _check_observatory(values)
    _check_name_free(organization, values.get("name"))
    observatory = Observatory.objects.create(organization=organization, **values)
    record_event(organization=organization, kind="observatory.created", subject=observatory, actor=actor)
    return observatory


@transaction.atomic
def update_observatory(*, observatory: Observatory, actor=None, **values) -> Observatory:
    """Change an observatory's fields; a new name must be free in its organization (409 otherwise)."""
    values = {k: v for k, v in values.items() if k in OBSERVATORY_FIELDS}
    _check_observatory(values)
    if "name" in values:
        _check_name_free(observatory.organization_id, values["name"], renaming=observatory)
    for name, value in values.items():
        setattr(observatory, name, value)
    observatory.save(update_fields=list(values) or None)
    record_event(
        organization=observatory.organization,
        kind="observatory.updated",
        subject=observatory,
        actor=actor,
        payload={"fields": sorted(values)},
    )
    return observatory


@transaction.atomic
def delete_observatory(*, observatory: Observatory, actor=None) -> None:
    """Delete an observatory with its devices and their records."""
    record_event(organization=observatory.organization, kind="observatory.deleted", subject=observatory, actor=actor)
    observatory.delete()


def _register(
    *, observatory: Observatory, found: discovery.FoundDevice, actor, source: str
) -> tuple[AlpacaDevice, bool]:
    device, created = AlpacaDevice.objects.get_or_create(
        observatory=observatory,
        host=found.host,
        port=found.port,
        device_type=found.device_type,
        device_number=found.device_number,
        defaults={"name": found.name, "unique_id": found.unique_id},
    )
    if not created and (device.name, device.unique_id) != (found.name, found.unique_id):
        device.name, device.unique_id = found.name, found.unique_id
        device.save(update_fields=["name", "unique_id"])
    if created:
        record_event(
            organization=observatory.organization,
            kind="telescope.device.registered",
            subject=device,
            actor=actor,
            payload={"address": device.address, "device_type": device.device_type, "source": source},
        )
        live.publish(
            "telescopes", live.live_message("device", DeviceSerializer, device), organization=observatory.organization
        )
    return device, created


def add_device(
    *, observatory: Observatory, host: str, port: int, device_type: str, device_number: int = 0, actor=None
) -> AlpacaDevice:
    """Register one device by address; it must answer, or the request is refused (400).

    Its Name is read from it, so a typo in the host, port, type or number is refused here rather
    than found later by the health check."""
    if device_type not in DeviceType.values:
        raise TelescopeError(f"unknown device type {device_type!r}", field="device_type")
    name = discovery.probe_name(host, port, device_type, device_number)
    if name is None:
        raise TelescopeError(
            f"no Alpaca {device_type} number {device_number} answers at {host}:{port} "
            "(check the address and that the Alpaca server is running)",
            field="host",
        )
    found = discovery.FoundDevice(
        host, port, device_type, device_number, name, f"{host}:{port}/{device_type}/{device_number}", "manual"
    )
    with transaction.atomic():
        if AlpacaDevice.objects.filter(
            observatory=observatory, host=host, port=port, device_type=device_type, device_number=device_number
        ).exists():
            raise TelescopeError(f"{device_type} {device_number} at {host}:{port} is registered already", conflict=True)
        try:
            device, _ = _register(observatory=observatory, found=found, actor=actor, source="manual")
        except IntegrityError as error:  # registered meanwhile by a discovery run
            raise TelescopeError("this device was registered meanwhile", conflict=True) from error
    return device


@transaction.atomic
def remove_device(*, device: AlpacaDevice, actor=None) -> None:
    """Unregister a device (its operations and exposures go with it)."""
    record_event(
        organization=device.observatory.organization,
        kind="telescope.device.removed",
        subject=device,
        actor=actor,
        payload={"address": device.address, "device_type": device.device_type},
    )
    live.publish(
        "telescopes",
        {"kind": "device.removed", "data": {"id": device.pk}},
        organization=device.observatory.organization,
    )
    device.delete()


@dataclass
class DiscoveryReport:
    targets: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    registered: list[int] = field(default_factory=list)
    known: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def discover_devices(
    *,
    observatory: Observatory,
    extra_targets: str = "",
    servers: list[tuple[str, int]] = (),
    timeout_s: float = 1.0,
    actor=None,
) -> DiscoveryReport:
    """Find the Alpaca servers of `observatory` and register every device they serve.

    Discovery datagrams go only to the observatory's configured hosts, to `extra_targets`, and to
    the directed broadcast of its configured interface; `servers` (host, HTTP port) are asked
    directly. Re-running registers nothing twice. Raises DiscoveryError when nothing is configured."""
    report = DiscoveryReport()
    try:
        targets = discovery.parse_targets(observatory.discovery_hosts) + discovery.parse_targets(extra_targets)
        if observatory.discovery_interface:
            targets += [
                (address, discovery.DISCOVERY_PORT)
                for address in discovery.interface_broadcasts(observatory.discovery_interface)
            ]
    except discovery.DiscoveryConfigError as error:
        raise DiscoveryError(str(error), field="discovery_hosts") from error
    if not targets and not servers:
        raise DiscoveryError(
            "nothing to discover on: set the observatory's discovery hosts or interface, or name a host",
            field="discovery_hosts",
        )
    report.targets = [f"{host}:{port}" for host, port in targets]
    answered = discovery.send_discovery(targets, timeout_s=timeout_s) if targets else []
    for host, port in [*answered, *servers]:
        if f"{host}:{port}" in report.servers:
            continue
        report.servers.append(f"{host}:{port}")
        found = discovery.server_devices(host, port)
        if not found:
            report.errors.append(f"{host}:{port} answered discovery but serves no device we could read")
        for item in found:
            with transaction.atomic():
                device, created = _register(observatory=observatory, found=item, actor=actor, source=item.source)
            (report.registered if created else report.known).append(device.pk)
    with transaction.atomic():
        record_event(
            organization=observatory.organization,
            kind="telescope.discovery",
            subject=observatory,
            actor=actor,
            payload=report.as_dict(),
        )
    return report


def read_name(device: AlpacaDevice) -> str:
    """The device's Name as it reports it now (raises client.DeviceError)."""
    try:
        return client.client_for(device).Name
    except Exception as error:
        raise client.explain(error, device) from error
