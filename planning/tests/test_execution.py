"""Executing a plan: slot → command on the spacecraft's queue → imaged → downlink → tile job →
processed; missed slots, two-person rule, expiry; and the whole chain with real workers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobState
from missionops.models import Event
from planning import services
from planning.models import DownlinkState, ImagingRequest, RequestState, SlotState
from spacecraft import services as spacecraft_services
from spacecraft.models import Command, CommandState


def _planned(org_a, imaging, make_request):
    request = make_request(imaging["lat"], imaging["lon"])
    plan = services.compute_plan(organization=org_a, horizon=timedelta(hours=12), time_limit_s=5)
    return request, plan.slots.get()


def test_chain_request_command_downlink_tile_job(org_a, imaging, make_request):
    request, slot = _planned(org_a, imaging, make_request)
    assert services.advance_plans(now=slot.start - timedelta(seconds=1))["commanded"] == 0
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()
    assert slot.state == SlotState.COMMANDED
    assert slot.command.name == "capture_image" and slot.command.args["target"] == request.name
    assert slot.command.state == CommandState.RELEASED  # not critical: released at once
    payload_on = Command.objects.get(spacecraft=imaging["spacecraft"], name="payload_on")
    for command in (payload_on, slot.command):  # what the Celery worker does (see the slow test)
        spacecraft_services.transmit(command_id=command.pk)
    slot.command.refresh_from_db()
    assert slot.command.state == CommandState.EXECUTED
    services.advance_plans(now=slot.end)
    slot.refresh_from_db()
    request.refresh_from_db()
    assert slot.state == SlotState.IMAGED and request.state == RequestState.IMAGED
    downlink = slot.downlink
    services.advance_plans(now=downlink.end)
    downlink.refresh_from_db()
    request.refresh_from_db()
    assert downlink.state == DownlinkState.DONE
    assert request.state == RequestState.DOWNLINKED
    job = request.tile_job
    assert job.kind == "tile" and job.template == request.template
    assert job.footprint["type"] == "Polygon" and job.bbox_west < imaging["lon"] < job.bbox_east
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
    services.advance_plans(now=downlink.end)
    request.refresh_from_db()
    assert request.state == RequestState.PROCESSED
    kinds = list(
        Event.objects.filter(subject_id=str(request.pk), kind__startswith="imaging_request.")
        .order_by("created_at")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "imaging_request.pending",
        "imaging_request.planned",
        "imaging_request.imaged",
        "imaging_request.downlinked",
        "imaging_request.tile_job",
        "imaging_request.processed",
    ]


def test_failed_command_puts_the_request_back(org_a, imaging, make_request):
    request, slot = _planned(org_a, imaging, make_request)
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()
    spacecraft_services.cancel_command(command=slot.command, actor=None, reason="operator stop")
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()
    request.refresh_from_db()
    assert slot.state == SlotState.FAILED
    assert request.state == RequestState.PENDING and "canceled" in request.failure_reason
    assert services.triggers_since_last_plan(org_a) == ["imaging_request.pending"]


def test_missed_slot(org_a, imaging, make_request):
    request, slot = _planned(org_a, imaging, make_request)
    services.advance_plans(now=slot.end + timedelta(minutes=6))
    slot.refresh_from_db()
    request.refresh_from_db()
    assert slot.state == SlotState.FAILED and slot.command is None
    assert request.state == RequestState.PENDING


def test_two_person_rule_where_the_catalogue_says(org_a, imaging, make_request, monkeypatch, operator, owner):
    from spacecraft import catalogue

    critical = [
        catalogue.CommandSpec(spec.name, spec.description, spec.args, critical=spec.name == "capture_image")
        for spec in catalogue.BY_MISSION["LEO_IMAGING"]
    ]
    monkeypatch.setitem(catalogue.BY_MISSION, "LEO_IMAGING", critical)
    request, slot = _planned(org_a, imaging, make_request)
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()
    assert slot.command.awaiting_approval and slot.command.state == CommandState.QUEUED
    approved = spacecraft_services.approve_command(command=slot.command, actor=operator)
    assert approved.state == CommandState.RELEASED
    # Not approved in time: the command is canceled and the request goes back to pending.
    other = make_request(imaging["lat"], imaging["lon"], name="Second")
    ImagingRequest.objects.filter(pk=request.pk).update(state=RequestState.CANCELED)
    plan = services.compute_plan(organization=org_a, horizon=timedelta(hours=12), time_limit_s=5)
    second = plan.slots.get(request=other)
    services.advance_plans(now=second.start)
    services.advance_plans(now=second.end + timedelta(minutes=6))
    second.refresh_from_db()
    other.refresh_from_db()
    assert second.state == SlotState.FAILED and second.command.state == CommandState.CANCELED
    assert other.state == RequestState.PENDING


def test_deadline_passed_expires(org_a, imaging, make_request):
    request = make_request(imaging["lat"], imaging["lon"], deadline=timezone.now() + timedelta(hours=1))
    services.advance_plans(now=timezone.now() + timedelta(hours=2))
    request.refresh_from_db()
    assert request.state == RequestState.EXPIRED


@pytest.mark.slow
def test_chain_with_real_workers(celery_worker_process, org_a, imaging, make_request):
    """The Celery worker transmits the imaging command; a real job_worker runs the tile job."""
    from jobs.tests.conftest import start_worker
    from missionops.testing import poll_until

    request, slot = _planned(org_a, imaging, make_request)
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()

    def executed():
        slot.command.refresh_from_db()
        return slot.command.state == CommandState.EXECUTED

    poll_until(executed, timeout_s=60, message="imaging command executed by the Celery worker")
    services.advance_plans(now=slot.end)
    services.advance_plans(now=slot.downlink.end)
    request.refresh_from_db()
    assert request.state == RequestState.DOWNLINKED and request.tile_job_id
    worker = start_worker("--exit-when-idle-s", "3", "--sweep-s", "0")
    try:

        def finished():
            job = Job.objects.get(pk=request.tile_job_id)
            return job.state in (JobState.SUCCEEDED, JobState.FAILED) and job

        job = poll_until(finished, timeout_s=120, message="tile job finished by job_worker")
        assert job.state == JobState.SUCCEEDED, job.error
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    services.advance_plans()
    request.refresh_from_db()
    assert request.state == RequestState.PROCESSED


def test_downlink_frees_the_images_memory(org_a, imaging, make_request):
    from planning.models import SpacecraftResources

    request, slot = _planned(org_a, imaging, make_request)
    spacecraft = imaging["spacecraft"]
    SpacecraftResources.objects.update_or_create(
        spacecraft=spacecraft, defaults={"memory_capacity_bits": request.volume_bits * 10}
    )
    services.advance_plans(now=slot.start)
    slot.refresh_from_db()
    for command in Command.objects.filter(spacecraft=spacecraft).order_by("pk"):
        spacecraft_services.transmit(command_id=command.pk)
    services.advance_plans(now=slot.end)
    spacecraft_services.update_state(spacecraft=spacecraft, memory_used_pct=25.0)
    services.advance_plans(now=slot.downlink.end)
    spacecraft.refresh_from_db()
    request.refresh_from_db()
    assert request.state == RequestState.DOWNLINKED
    assert spacecraft.memory_used_pct == pytest.approx(15.0)  # one image of a tenth of the memory
    services.advance_plans(now=slot.downlink.end)  # idempotent: nothing is freed twice
    spacecraft.refresh_from_db()
    assert spacecraft.memory_used_pct == pytest.approx(15.0)
