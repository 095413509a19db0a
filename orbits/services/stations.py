"""Ground stations: created, changed and deleted with their passes."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from missionops.exceptions import ConflictError, DomainError
from missionops.models import Organization
from missionops.services import record_event

from ..models import Contact, GroundStation
from .passes import lock_passes, recompute_passes

STATION_FIELDS = ("name", "latitude_deg", "longitude_deg", "altitude_m", "min_elevation_deg", "downlink_rate_bps")


def _check_station(values: dict) -> None:
    checks = {
        "latitude_deg": (-90, 90),
        "longitude_deg": (-180, 180),
        "altitude_m": (-500, 9000),
        "min_elevation_deg": (0, 89),
    }
    for name, (low, high) in checks.items():
        if name in values and not low <= values[name] <= high:
            raise DomainError(f"{name} must be between {low} and {high}, got {values[name]}", field=name)
    if "downlink_rate_bps" in values and values["downlink_rate_bps"] <= 0:
        raise DomainError("downlink_rate_bps must be positive", field="downlink_rate_bps")


@transaction.atomic
def create_station(*, organization: Organization, actor=None, **values) -> GroundStation:
    """Register a station and compute its passes for the horizon."""
    _check_station(values)
    lock_passes(organization_id=organization.pk)
    if GroundStation.objects.filter(organization=organization, name=values.get("name")).exists():
        raise ConflictError(f"station {values.get('name')!r} already exists", field="name")
    station = GroundStation.objects.create(organization=organization, **values)
    record_event(organization=organization, kind="station.created", subject=station, actor=actor, payload=values)
    recompute_passes(organization=organization, station_ids={station.pk})
    return station


@transaction.atomic
def update_station(*, station: GroundStation, actor=None, **values) -> GroundStation:
    """Change a station; its future passes are recomputed when its geometry changed."""
    unknown = set(values) - set(STATION_FIELDS)
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    _check_station(values)
    # Before the row lock: a recompute holding the passes lock inserts passes that key-share it.
    lock_passes(organization_id=station.organization_id)
    station = GroundStation.objects.select_for_update().get(pk=station.pk)
    name = values.get("name", station.name)
    if GroundStation.objects.filter(organization_id=station.organization_id, name=name).exclude(pk=station.pk).exists():
        raise ConflictError(f"station {name!r} already exists", field="name")
    changed = {k: v for k, v in values.items() if getattr(station, k) != v}
    if not changed:
        return station
    for key, value in changed.items():
        setattr(station, key, value)
    station.save(update_fields=[*changed, "updated_at"])
    record_event(
        organization=station.organization, kind="station.updated", subject=station, actor=actor, payload=changed
    )
    if set(changed) & {"latitude_deg", "longitude_deg", "altitude_m", "min_elevation_deg"}:
        recompute_passes(organization=station.organization, station_ids={station.pk})
    return station


@transaction.atomic
def delete_station(*, station: GroundStation, actor=None, now: datetime | None = None) -> None:
    """Delete a station with its passes, unless a contact plan still has a contact at it to come.

    Refused (409, naming the plans) in that case: those contacts release queued commands.
    Contacts already over go with the station; the event counts them."""
    now = now or timezone.now()
    lock_passes(organization_id=station.organization_id)
    contacts = Contact.objects.filter(station=station)
    pending_plans = sorted(set(contacts.filter(end__gt=now).values_list("plan_id", flat=True)))
    if pending_plans:
        raise ConflictError(
            f"station {station.name!r} has contacts not yet over in contact plan(s) "
            f"{', '.join(str(pk) for pk in pending_plans)}; delete it once they have ended"
        )
    record_event(
        organization=station.organization,
        kind="station.deleted",
        subject=station,
        actor=actor,
        payload={"name": station.name, "past_contacts_removed": contacts.count()},
    )
    station.delete()
