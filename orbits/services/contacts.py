"""Contact plans: bookings of the stored passes for a window, by priority."""

from datetime import datetime, timedelta

from django.db import transaction

from missionops import live
from missionops.exceptions import DomainError
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from .. import scheduling
from ..models import Contact, ContactPlan, Pass
from .passes import lock_passes


def _check_plan_request(organization: Organization, start: datetime, end: datetime, requests: list[dict]) -> set:
    """The ids of the spacecraft requested, once each and all of the organization's."""
    if end <= start:
        raise DomainError("end must be after start", field="end")
    if end - start > timedelta(days=7):
        raise DomainError("a plan covers at most 7 days", field="end")
    seen = set()
    for item in requests:
        sc = item["spacecraft"]
        if sc.organization_id != organization.pk:
            raise DomainError(f"spacecraft {sc.pk} is not in {organization.slug}", field="requests")
        if sc.pk in seen:
            raise DomainError(f"spacecraft {sc.designation} is requested twice", field="requests")
        seen.add(sc.pk)
    return seen


@transaction.atomic
def build_contact_plan(
    *, organization: Organization, start: datetime, end: datetime, requests: list[dict], actor=None
) -> ContactPlan:
    """Build a contact plan for [start, end] from the stored passes, greedy by priority.

    One station per spacecraft and one spacecraft per station at a time; every request not fully
    served is listed with its reason. `requests`: [{"spacecraft": Spacecraft, "priority": int, "volume_bits": int}]."""
    seen = _check_plan_request(organization, start, end, requests)
    # The passes read must not be replaced meanwhile, nor a station deleted under its contacts.
    lock_passes(organization_id=organization.pk)
    passes = list(
        Pass.objects.filter(
            organization=organization, spacecraft_id__in=seen, los__gt=start, aos__lt=end
        ).select_related("station")
    )
    windows = [
        scheduling.Window(
            p.pk, p.spacecraft_id, p.station_id, p.station.name, p.aos, p.los, p.station.downlink_rate_bps
        )
        for p in passes
    ]
    asks = [
        scheduling.Request(r["spacecraft"].pk, r["spacecraft"].designation, r.get("priority", 0), r["volume_bits"])
        for r in requests
    ]
    result = scheduling.plan(asks, windows, start, end)
    contact_plan = ContactPlan.objects.create(
        organization=organization,
        start=start,
        end=end,
        requests={
            str(r["spacecraft"].pk): {"priority": r.get("priority", 0), "volume_bits": r["volume_bits"]}
            for r in requests
        },
        unserved=result.unserved,
        created_by=user_or_none(actor),
    )
    Contact.objects.bulk_create(
        [
            Contact(
                plan=contact_plan,
                spacecraft_id=b.request.spacecraft,
                station_id=b.window.station,
                pass_ref_id=b.window.pass_id,
                start=b.start,
                end=b.end,
                volume_bits=b.volume_bits,
                priority=b.request.priority,
            )
            for b in result.bookings
        ]
    )
    record_event(
        organization=organization,
        kind="contact_plan.created",
        subject=contact_plan,
        actor=actor,
        payload={"contacts": len(result.bookings), "unserved": len(result.unserved)},
    )
    live.publish("passes", {"kind": "plan", "id": contact_plan.pk}, organization=organization)
    return contact_plan
