"""Imaging requests: validated creation, cancellation, and every state change as an event."""

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import JobTemplate
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from ..exceptions import RequestError, RequestStateError
from ..models import ImagingRequest, RequestState

MAX_VOLUME_BITS = 2**62
MAX_WINDOW = timedelta(days=30)
POINT_FOOTPRINT_DEG = 0.05  # half-width of the tile footprint around a point target


def set_state(*, request: ImagingRequest, state: str, actor=None, reason: str = "", **payload) -> ImagingRequest:
    """Move a request to `state`, saving only what changed, with an `imaging_request.<state>` event."""
    previous = request.state
    if previous == state:
        return request
    request.state = state
    fields = ["state", "updated_at"]
    if reason:
        request.failure_reason = reason[:300]
        fields.append("failure_reason")
    request.save(update_fields=fields)
    record_event(
        organization=request.organization,
        kind=f"imaging_request.{state}",
        subject=request,
        actor=actor,
        payload={"from": previous, "to": state, "reason": reason, **payload},
    )
    return request


def _number(value, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RequestError(f"{field} must be a number", field=field)
    if not low <= value <= high:
        raise RequestError(f"{field} must be between {low:g} and {high:g}, got {value:g}", field=field)
    return float(value)


def _position(position, field: str) -> tuple[float, float]:
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise RequestError("every position must be [longitude, latitude]", field=field)
    lon = _number(position[0], field, -180, 180)
    lat = _number(position[1], field, -90, 90)
    return lon, lat


def clean_target(target) -> tuple[dict, float, float]:
    """A GeoJSON Point or Polygon (one closed ring of 4 to 1000 positions), normalized, and the
    latitude and longitude of its centre (the ring's vertex mean, unwrapped across 180°)."""
    if not isinstance(target, dict) or target.get("type") not in ("Point", "Polygon"):
        raise RequestError("target must be a GeoJSON Point or Polygon", field="target")
    coordinates = target.get("coordinates")
    if target["type"] == "Point":
        lon, lat = _position(coordinates, "target")
        return {"type": "Point", "coordinates": [lon, lat]}, lat, lon
    if not isinstance(coordinates, list) or len(coordinates) != 1 or not isinstance(coordinates[0], list):
        raise RequestError("target polygon must have exactly one ring", field="target")
    ring = [_position(p, "target") for p in coordinates[0]]
    if not 4 <= len(ring) <= 1000:
        raise RequestError("target polygon ring needs 4 to 1000 positions", field="target")
    if ring[0] != ring[-1]:
        raise RequestError("target polygon is not closed: its first and last positions differ", field="target")
    first_lon = ring[0][0]
    unwrapped = [lon + 360 * round((first_lon - lon) / 360) for lon, _ in ring[:-1]]
    lon = sum(unwrapped) / len(unwrapped)
    lon = (lon + 180) % 360 - 180
    lat = sum(lat for _, lat in ring[:-1]) / (len(ring) - 1)
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}, lat, lon


def footprint_of(request: ImagingRequest) -> dict:
    """The imaged area as a GeoJSON Polygon: the target polygon, or a small square around a point."""
    if request.target["type"] == "Polygon":
        return request.target
    lon, lat = request.target["coordinates"]
    d = POINT_FOOTPRINT_DEG
    west, east = max(-180.0, lon - d), min(180.0, lon + d)
    south, north = max(-90.0, lat - d), min(90.0, lat + d)
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def _time(value, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise RequestError(f"{field} must be a date-time", field=field)
    if timezone.is_naive(value):
        raise RequestError(f"{field} needs an offset (e.g. 2026-12-07T06:00:00Z)", field=field)
    return value


@transaction.atomic
def create_request(
    *,
    organization: Organization,
    actor=None,
    name: str,
    target: dict,
    earliest_start: datetime,
    deadline: datetime,
    volume_bits: int,
    template: JobTemplate | int | None,
    priority: int = 1,
    min_elevation_deg: float = 60.0,
    min_sun_elevation_deg: float | None = 10.0,
) -> ImagingRequest:
    """Validate and store a pending request (nothing is written when any field is refused); the
    planner picks it up at its next run (the `imaging_request.pending` event triggers one)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise RequestError("name must be 1 to 120 characters", field="name")
    target, lat, lon = clean_target(target)
    earliest_start, deadline = _time(earliest_start, "earliest_start"), _time(deadline, "deadline")
    if deadline <= earliest_start:
        raise RequestError("deadline must be after earliest_start", field="deadline")
    if deadline - earliest_start > MAX_WINDOW:
        raise RequestError(f"a request spans at most {MAX_WINDOW.days} days", field="deadline")
    if deadline <= timezone.now():
        raise RequestError("deadline is already past", field="deadline")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 100:
        raise RequestError("priority must be an integer from 1 to 100", field="priority")
    if isinstance(volume_bits, bool) or not isinstance(volume_bits, int) or not 1 <= volume_bits <= MAX_VOLUME_BITS:
        raise RequestError(f"volume_bits must be an integer from 1 to {MAX_VOLUME_BITS}", field="volume_bits")
    min_elevation_deg = _number(min_elevation_deg, "min_elevation_deg", 0, 90)
    if min_sun_elevation_deg is not None:
        min_sun_elevation_deg = _number(min_sun_elevation_deg, "min_sun_elevation_deg", -90, 90)
    if template is None:
        raise RequestError("give the tile job template to run on the image", field="template")
    template_id = template.pk if isinstance(template, JobTemplate) else template
    template = JobTemplate.objects.filter(organization=organization, pk=template_id).first()
    if template is None:
        raise RequestError(f"unknown template {template_id} in {organization.slug}", field="template")
    request = ImagingRequest.objects.create(
        organization=organization,
        name=name,
        target=target,
        target_latitude_deg=lat,
        target_longitude_deg=lon,
        priority=priority,
        earliest_start=earliest_start,
        deadline=deadline,
        min_elevation_deg=min_elevation_deg,
        min_sun_elevation_deg=min_sun_elevation_deg,
        volume_bits=volume_bits,
        template=template,
        created_by=user_or_none(actor),
    )
    record_event(
        organization=organization,
        kind="imaging_request.pending",
        subject=request,
        actor=actor,
        payload={"priority": priority, "deadline": deadline.isoformat(), "volume_bits": volume_bits},
    )
    return request


@transaction.atomic
def cancel_request(*, request: ImagingRequest, actor, reason: str = "") -> ImagingRequest:
    """Cancel a request that is not final; its planned slots are dropped from the current plan."""
    from ..models import SlotState

    request = ImagingRequest.objects.select_for_update().select_related("organization").get(pk=request.pk)
    if not request.can_cancel():
        raise RequestStateError(f"request {request.pk} is {request.state} and cannot be canceled", field="state")
    request.slots.filter(state=SlotState.PLANNED).update(state=SlotState.SUPERSEDED)
    return set_state(request=request, state=RequestState.CANCELED, actor=actor, reason=reason or "canceled by operator")
