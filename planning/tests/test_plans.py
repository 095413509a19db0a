"""Plans from the database: access, CP-SAT, storage, re-planning triggers and executing slots kept."""

from datetime import timedelta

import pytest

from missionops.models import Event
from planning import services
from planning.models import Downlink, DownlinkState, ImagingSlot, Plan, RequestState, SlotState
from spacecraft.services import update_state

from .conftest import fresh_tle


def _plan(org, **kwargs):
    kwargs.setdefault("horizon", timedelta(hours=12))
    kwargs.setdefault("time_limit_s", 5)
    return services.compute_plan(organization=org, **kwargs)


def test_plan_images_the_target_and_brings_it_down(org_a, imaging, make_request):
    request = make_request(imaging["lat"], imaging["lon"], priority=4)
    plan = _plan(org_a)
    slot = plan.slots.get()
    assert slot.request == request and slot.spacecraft == imaging["spacecraft"]
    assert abs((slot.start - imaging["t0"]).total_seconds()) < 120
    assert slot.elevation_deg > 80
    downlink = slot.downlink
    assert downlink.station == imaging["station"] and downlink.start >= slot.end
    assert downlink.load_bits == request.volume_bits <= downlink.capacity_bits
    request.refresh_from_db()
    assert request.state == RequestState.PLANNED
    assert plan.value == 4 and plan.greedy_value == 4 and plan.bound >= 4
    assert plan.stats["violations"] == 0 and plan.stats["opportunities"] >= 1
    assert plan.stats["element_set_age_h"][str(imaging["spacecraft"].pk)] < 1
    assert plan.stats["eclipses"][str(imaging["spacecraft"].pk)]  # a 12 h LEO horizon has eclipses
    assert Event.objects.filter(kind="plan.computed", subject_id=str(plan.pk)).exists()
    assert Event.objects.filter(kind="imaging_request.planned", subject_id=str(request.pk)).exists()


def test_target_out_of_reach_stays_pending(org_a, imaging, make_request):
    request = make_request(-imaging["lat"], imaging["lon"] + 180 if imaging["lon"] < 0 else imaging["lon"] - 180)
    plan = _plan(org_a, horizon=timedelta(hours=1))
    assert not plan.slots.exists()
    request.refresh_from_db()
    assert request.state == RequestState.PENDING


def test_element_set_too_old_predicts_nothing(org_a, imaging, make_request, settings):
    settings.PLANNING_MAX_ELEMENT_AGE_DAYS = 0.01  # 14 minutes: t0 is two hours past the epoch
    make_request(imaging["lat"], imaging["lon"])
    assert not _plan(org_a).slots.exists()


def test_replan_keeps_the_executing_slot(org_a, imaging, make_request):
    request = make_request(imaging["lat"], imaging["lon"])
    first = _plan(org_a)
    slot = first.slots.get()
    ImagingSlot.objects.filter(pk=slot.pk).update(state=SlotState.COMMANDED)
    other = make_request(imaging["lat"] + 0.01, imaging["lon"], name="Neighbour", priority=50)
    second = _plan(org_a, trigger="test")
    kept = ImagingSlot.objects.get(pk=slot.pk)
    assert kept.plan == second and kept.state == SlotState.COMMANDED
    assert (kept.start, kept.end) == (slot.start, slot.end)  # not moved, whatever the new request's priority
    assert kept.downlink.plan == second and kept.downlink.station == imaging["station"]
    assert not ImagingSlot.objects.filter(
        request=other,
        spacecraft=imaging["spacecraft"],
        start__lt=kept.end + timedelta(seconds=60),
        end__gt=kept.start - timedelta(seconds=60),
        state=SlotState.PLANNED,
    ).exists()
    assert Downlink.objects.get(pk=slot.downlink_id).state == DownlinkState.SUPERSEDED
    request.refresh_from_db()
    assert request.state == RequestState.PLANNED


def test_replanning_supersedes_planned_slots(org_a, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"])
    first = _plan(org_a)
    second = _plan(org_a)
    assert first.slots.get().state == SlotState.SUPERSEDED
    assert second.slots.get().state == SlotState.PLANNED
    assert Plan.objects.count() == 2


def test_triggers(org_a, owner, imaging, make_request):
    assert services.triggers_since_last_plan(org_a) == ["tle.imported"]  # the fixture's element set
    _plan(org_a)
    assert services.triggers_since_last_plan(org_a) == []
    make_request(imaging["lat"], imaging["lon"])
    assert services.triggers_since_last_plan(org_a) == ["imaging_request.pending"]
    plan = services.replan_if_triggered(organization=org_a, time_limit_s=5)
    assert plan is not None and plan.trigger == "imaging_request.pending"
    assert services.triggers_since_last_plan(org_a) == []
    assert services.replan_if_triggered(organization=org_a) is None
    # A new element set (a pass changes) triggers.
    from orbits.services import import_tles

    import_tles(organization=org_a, text=fresh_tle(imaging["t0"] - timedelta(hours=1)), actor=owner)
    assert services.triggers_since_last_plan(org_a) == ["tle.imported"]


def test_safe_mode_replans_without_that_spacecraft(org_a, imaging, make_request):
    request = make_request(imaging["lat"], imaging["lon"])
    _plan(org_a)
    update_state(spacecraft=imaging["spacecraft"], mode="safe", reason="test")
    assert services.triggers_since_last_plan(org_a) == ["mode.changed to safe"]
    plan = services.replan_if_triggered(organization=org_a, time_limit_s=5)
    assert plan is not None and not plan.slots.exists()
    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert Event.objects.filter(kind="imaging_request.pending", subject_id=str(request.pk)).count() == 2


def test_lost_contact_is_avoided(org_a, operator, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"])
    first = _plan(org_a)
    lost = first.downlinks.get()
    services.mark_downlink_lost(downlink=lost, actor=operator, reason="antenna fault")
    assert services.triggers_since_last_plan(org_a) == ["planning.downlink_lost"]
    second = services.replan_if_triggered(organization=org_a, time_limit_s=5)
    for downlink in second.downlinks.all():
        assert not (downlink.station_id == lost.station_id and downlink.start < lost.end and downlink.end > lost.start)


def test_bad_horizon_and_time_limit(org_a):
    from planning.exceptions import RequestError

    with pytest.raises(RequestError) as error:
        services.compute_plan(organization=org_a, horizon=timedelta(days=30))
    assert error.value.field == "horizon_h"
    with pytest.raises(RequestError) as error:
        services.compute_plan(organization=org_a, time_limit_s=0)
    assert error.value.field == "time_limit_s"
    assert not Plan.objects.exists()


def test_tasks_replan_only_stale_organizations(org_a, imaging, make_request):
    from planning import tasks

    make_request(imaging["lat"], imaging["lon"])
    assert tasks.replan() == 1
    assert tasks.replan() == 0  # nothing new since
    assert tasks.advance_plans()["commanded"] == 0  # the slot is hours away
