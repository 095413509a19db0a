"""Executing the plan: a due imaging slot queues its command on the spacecraft's command queue
(the catalogue decides whether a second operator must approve it); an executed command marks the
request imaged; a finished downlink marks its images downlinked and submits each one's tile job
(footprint = the imaged area); the job's end makes the request processed or failed. Every sweep
is idempotent: rows are locked and moved only from the state they are read in."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import JobState
from missionops.exceptions import DomainError
from missionops.services import record_event
from spacecraft import services as spacecraft_services
from spacecraft.models import CommandState, ReleaseMode, Spacecraft

from ..exceptions import RequestStateError
from ..models import (
    Downlink,
    DownlinkState,
    ImagingRequest,
    ImagingSlot,
    RequestState,
    SlotState,
    SpacecraftResources,
)
from .requests import footprint_of, set_state

IMAGING_COMMAND = "capture_image"
IMAGING_EXPOSURE_MS = 5
# A slot whose command could not go out by this long after its end is missed.
MISSED_AFTER = timedelta(minutes=5)
COMMAND_FAILED = (CommandState.FAILED, CommandState.TIMED_OUT, CommandState.CANCELED)


def _slot_event(slot: ImagingSlot, kind: str, **payload) -> None:
    record_event(
        organization=slot.request.organization,
        kind=f"imaging_slot.{kind}",
        subject=slot,
        spacecraft_id=slot.spacecraft_id,
        payload={"request": slot.request_id, "start": slot.start.isoformat(), **payload},
    )


def _retry_or_expire(request: ImagingRequest, reason: str, now: datetime) -> None:
    if request.deadline <= now:
        set_state(request=request, state=RequestState.EXPIRED, reason=f"{reason}; deadline passed")
    else:
        set_state(request=request, state=RequestState.PENDING, reason=f"{reason}; to be planned again")


def _command_slot(slot: ImagingSlot, now: datetime) -> None:
    request = slot.request
    if now > slot.end + MISSED_AFTER:
        slot.state = SlotState.FAILED
        slot.save(update_fields=["state"])
        _slot_event(slot, "missed")
        _retry_or_expire(request, "imaging slot missed", now)
        return
    spacecraft = slot.spacecraft
    try:
        with transaction.atomic():
            if not spacecraft.runtime.get("payload_on"):
                spacecraft_services.create_command(spacecraft=spacecraft, name="payload_on", priority=2)
            command = spacecraft_services.create_command(
                spacecraft=spacecraft,
                name=IMAGING_COMMAND,
                args={"exposure_ms": IMAGING_EXPOSURE_MS, "target": request.name[:80]},
                priority=2,
                release_mode=ReleaseMode.IMMEDIATE,
            )
    except DomainError as refused:
        slot.state = SlotState.FAILED
        slot.save(update_fields=["state"])
        _slot_event(slot, "failed", reason=refused.message)
        _retry_or_expire(request, f"imaging command refused: {refused.message}", now)
        return
    slot.state, slot.command = SlotState.COMMANDED, command
    slot.save(update_fields=["state", "command"])
    _slot_event(slot, "commanded", command=command.pk, awaiting_approval=command.awaiting_approval)


def _follow_command(slot: ImagingSlot, now: datetime) -> None:
    command = slot.command
    if command is None:
        return
    if command.state == CommandState.EXECUTED:
        slot.state = SlotState.IMAGED
        slot.save(update_fields=["state"])
        _slot_event(slot, "imaged", command=command.pk)
        set_state(request=slot.request, state=RequestState.IMAGED, spacecraft=str(slot.spacecraft_id), slot=slot.pk)
        if slot.downlink is None or slot.downlink.state != DownlinkState.PLANNED or slot.downlink.end <= now:
            # Its contact is gone: the image waits on board for the next plan to find another.
            record_event(
                organization=slot.request.organization,
                kind="planning.downlink_lost",
                subject=slot,
                payload={"request": slot.request_id, "reason": "image taken after its downlink was lost or passed"},
            )
    elif command.state in COMMAND_FAILED:
        slot.state = SlotState.FAILED
        slot.save(update_fields=["state"])
        _slot_event(slot, "failed", reason=command.failure_reason or command.state)
        _retry_or_expire(slot.request, f"imaging command {command.state}", now)
    elif command.state == CommandState.QUEUED and now > slot.end + MISSED_AFTER:
        # Still waiting for a second operator's approval when the target is long gone.
        spacecraft_services.cancel_command(command=command, actor=None, reason="imaging slot passed before approval")
        slot.state = SlotState.FAILED
        slot.save(update_fields=["state"])
        _slot_event(slot, "missed", reason="not approved in time")
        _retry_or_expire(slot.request, "imaging command not approved in time", now)


def _finish_downlink(downlink: Downlink) -> None:
    downlink.state = DownlinkState.DONE
    downlink.save(update_fields=["state"])
    freed_bits = 0
    for slot in (
        downlink.slots.select_for_update(of=("self",))
        .filter(state=SlotState.IMAGED)
        .select_related("request__template")
    ):
        slot.state = SlotState.DOWNLINKED
        slot.save(update_fields=["state"])
        request = (
            ImagingRequest.objects.select_for_update(of=("self",))
            .select_related("organization", "template")
            .get(pk=slot.request_id)
        )
        set_state(request=request, state=RequestState.DOWNLINKED, downlink=downlink.pk, station=downlink.station_id)
        submit_tile_job(request=request)
        freed_bits += request.volume_bits
    if freed_bits:
        _free_memory(downlink, freed_bits)


def _free_memory(downlink: Downlink, bits: int) -> None:
    """The downlinked images leave the spacecraft's memory: its `memory_used_pct` falls by their
    share of the memory capacity the planner counts with (never below 0)."""
    capacity = (
        SpacecraftResources.objects.filter(spacecraft_id=downlink.spacecraft_id)
        .values_list("memory_capacity_bits", flat=True)
        .first()
    ) or SpacecraftResources.DEFAULTS["memory_capacity_bits"]
    spacecraft = Spacecraft.objects.select_for_update().get(pk=downlink.spacecraft_id)
    used = max(0.0, spacecraft.memory_used_pct - 100.0 * bits / capacity)
    spacecraft_services.update_state(spacecraft=spacecraft, memory_used_pct=used, reason="images downlinked")


def submit_tile_job(*, request: ImagingRequest):
    """Submit the request's tile job (its template, footprint = the imaged area); a job the
    jobs app refuses fails the request with its reason."""
    template = request.template
    if template is None:
        set_state(request=request, state=RequestState.FAILED, reason="its tile job template was deleted")
        return None
    try:
        with transaction.atomic():
            job = job_services.submit_jobs(
                organization=request.organization,
                actor=None,
                specs=[
                    {
                        "kind": template.kind,
                        "params": template.params,
                        "priority": template.priority,
                        "max_attempts": template.max_attempts,
                        "footprint": footprint_of(request),
                        "name": f"{request.name} tiles"[:200],
                        "template": template,
                    }
                ],
            )[0]
    except DomainError as refused:
        set_state(request=request, state=RequestState.FAILED, reason=f"tile job refused: {refused.message}")
        return None
    request.tile_job = job
    request.save(update_fields=["tile_job", "updated_at"])
    record_event(
        organization=request.organization,
        kind="imaging_request.tile_job",
        subject=request,
        payload={"job": job.pk},
    )
    return job


@transaction.atomic
def advance_plans(*, now: datetime | None = None) -> dict:
    """One execution sweep over every organization. Returns counts of what moved."""
    now = now or timezone.now()
    counts = {"commanded": 0, "followed": 0, "downlinks": 0, "processed": 0, "expired": 0}
    due = (
        ImagingSlot.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=SlotState.PLANNED, start__lte=now, request__state=RequestState.PLANNED)
        .select_related("request__organization", "spacecraft")
    )
    for slot in due:
        _command_slot(slot, now)
        counts["commanded"] += 1
    commanded = (
        ImagingSlot.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=SlotState.COMMANDED)
        .select_related("request__organization", "command", "downlink")
    )
    for slot in commanded:
        _follow_command(slot, now)
        counts["followed"] += 1
    finished = Downlink.objects.select_for_update(skip_locked=True).filter(state=DownlinkState.PLANNED, end__lte=now)
    for downlink in finished:
        _finish_downlink(downlink)
        counts["downlinks"] += 1
    with_jobs = (
        ImagingRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=RequestState.DOWNLINKED, tile_job__isnull=False)
        .select_related("tile_job", "organization")
    )
    for request in with_jobs:
        if request.tile_job.state == JobState.SUCCEEDED:
            set_state(request=request, state=RequestState.PROCESSED, job=request.tile_job_id)
            counts["processed"] += 1
        elif request.tile_job.state in (JobState.FAILED, JobState.CANCELED):
            set_state(
                request=request,
                state=RequestState.FAILED,
                reason=f"tile job {request.tile_job_id} {request.tile_job.state}",
            )
    late = ImagingRequest.objects.select_for_update(skip_locked=True).filter(
        state__in=(RequestState.PENDING, RequestState.PLANNED, RequestState.IMAGED), deadline__lte=now
    )
    for request in late.select_related("organization"):
        request.slots.filter(state=SlotState.PLANNED).update(state=SlotState.SUPERSEDED)
        set_state(request=request, state=RequestState.EXPIRED, reason="deadline passed before its data came down")
        counts["expired"] += 1
    return counts


@transaction.atomic
def mark_downlink_lost(*, downlink: Downlink, actor, reason: str = "") -> Downlink:
    """An operator reports a planned contact lost (station down, pass missed): the next
    re-plan avoids that pass and finds the images another way down."""
    downlink = Downlink.objects.select_for_update().select_related("plan__organization").get(pk=downlink.pk)
    if downlink.state != DownlinkState.PLANNED:
        raise RequestStateError(f"downlink {downlink.pk} is {downlink.state}, not planned", field="state")
    downlink.state = DownlinkState.LOST
    downlink.save(update_fields=["state"])
    record_event(
        organization=downlink.plan.organization,
        kind="planning.downlink_lost",
        subject=downlink,
        actor=actor,
        spacecraft_id=downlink.spacecraft_id,
        payload={"station": downlink.station_id, "start": downlink.start.isoformat(), "reason": reason[:300]},
    )
    return downlink
