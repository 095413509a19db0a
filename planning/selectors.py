"""Reads of the planning app, always on behalf of a user: nothing outside their organizations."""

from django.db.models import Prefetch, QuerySet

from missionops.tenancy import organizations_for

from .models import Downlink, DownlinkState, ImagingRequest, ImagingSlot, Plan, SlotState

SHOWN_SLOT_STATES = [s for s in SlotState.values if s != SlotState.SUPERSEDED]
SHOWN_DOWNLINK_STATES = [s for s in DownlinkState.values if s != DownlinkState.SUPERSEDED]


def requests_visible_to(user) -> QuerySet[ImagingRequest]:
    return ImagingRequest.objects.filter(organization__in=organizations_for(user)).select_related(
        "organization", "template"
    )


def plans_visible_to(user) -> QuerySet[Plan]:
    return Plan.objects.filter(organization__in=organizations_for(user)).select_related("organization")


def plan_detail(plan_qs: QuerySet[Plan]) -> QuerySet[Plan]:
    """Plans with their live slots and downlinks prefetched (superseded ones left out)."""
    return plan_qs.prefetch_related(
        Prefetch(
            "slots",
            queryset=ImagingSlot.objects.filter(state__in=SHOWN_SLOT_STATES).select_related(
                "spacecraft", "request", "downlink"
            ),
        ),
        Prefetch(
            "downlinks",
            queryset=Downlink.objects.filter(state__in=SHOWN_DOWNLINK_STATES).select_related("spacecraft", "station"),
        ),
    )


def current_plan(user, organization=None) -> Plan | None:
    plans = plans_visible_to(user)
    if organization is not None:
        plans = plans.filter(organization=organization)
    return plan_detail(plans).order_by("-created_at", "-id").first()
