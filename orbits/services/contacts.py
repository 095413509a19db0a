"""Contact plans: bookings of the stored passes for a window, by priority, or of the passes an
operator picked."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from missionops import live
from missionops.exceptions import DomainError
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none

from .. import scheduling
from ..models import Contact, ContactPlan, Pass
from ..representations import ContactPlanSerializer
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
    _publish_plan(contact_plan, organization=organization)
    return contact_plan


MAX_PICKED_PASSES = 500


def _describe(p: Pass) -> str:
    return f"pass {p.pk} ({p.spacecraft.designation} over {p.station.name} at {p.aos:%Y-%m-%d %H:%M:%S} UTC)"


def _check_picks(picked: list[Pass]) -> None:
    """Refuse two picks that would put one station on two spacecraft, or one spacecraft on two
    stations, at the same moment (passes touching end to start are fine)."""
    picked = sorted(picked, key=lambda p: (p.aos, p.pk))
    for i, first in enumerate(picked):
        for second in picked[i + 1 :]:
            if second.aos >= first.los:
                break
            if second.station_id == first.station_id:
                raise DomainError(
                    f"{_describe(second)} overlaps {_describe(first)} on the same station", field="passes"
                )
            if second.spacecraft_id == first.spacecraft_id:
                raise DomainError(
                    f"{_describe(second)} overlaps {_describe(first)}: one spacecraft, two stations at once",
                    field="passes",
                )


@transaction.atomic
def create_contact_plan_from_passes(*, organization: Organization, pass_ids: list[int], actor=None) -> ContactPlan:
    """A contact plan of exactly the stored passes picked (on the passes timeline, or by id over the
    API): one contact per pass from AOS to LOS, at the station's downlink rate.

    All or nothing: a pass that is not the organization's or no longer stored (passes are replaced
    when recomputed), one picked twice, one already over, or two picks overlapping on one station or
    for one spacecraft refuse the whole plan with an error naming the pass; nothing is written."""
    if not pass_ids:
        raise DomainError("pick at least one pass", field="passes")
    if len(pass_ids) > MAX_PICKED_PASSES:
        raise DomainError(f"at most {MAX_PICKED_PASSES} passes in one plan", field="passes")
    seen = set()
    for pk in pass_ids:
        if pk in seen:
            raise DomainError(f"pass {pk} is picked twice", field="passes")
        seen.add(pk)
    # The passes read must not be replaced meanwhile, nor a station deleted under its contacts.
    lock_passes(organization_id=organization.pk)
    found = {
        p.pk: p
        for p in Pass.objects.filter(organization=organization, pk__in=pass_ids).select_related("spacecraft", "station")
    }
    for pk in pass_ids:
        if pk not in found:
            raise DomainError(
                f"no pass {pk} in {organization.slug}: passes are replaced when recomputed, reload the timeline",
                field="passes",
            )
    picked = [found[pk] for pk in pass_ids]
    now = timezone.now()
    for p in picked:
        if p.los <= now:
            raise DomainError(f"{_describe(p)} is over", field="passes")
        if p.los <= p.aos:
            raise DomainError(f"{_describe(p)} has no duration", field="passes")
    _check_picks(picked)
    start, end = min(p.aos for p in picked), max(p.los for p in picked)
    if end - start > timedelta(days=7):
        raise DomainError("a plan covers at most 7 days", field="passes")
    contacts = [
        Contact(
            spacecraft_id=p.spacecraft_id,
            station_id=p.station_id,
            pass_ref_id=p.pk,
            start=p.aos,
            end=p.los,
            volume_bits=min(scheduling.MAX_BITS, int(p.duration_s * p.station.downlink_rate_bps)),
        )
        for p in sorted(picked, key=lambda p: (p.aos, p.pk))
    ]
    requests: dict[str, dict] = {}
    for contact in contacts:
        entry = requests.setdefault(str(contact.spacecraft_id), {"priority": 0, "volume_bits": 0, "passes": []})
        entry["volume_bits"] = min(scheduling.MAX_BITS, entry["volume_bits"] + contact.volume_bits)
        entry["passes"].append(contact.pass_ref_id)
    contact_plan = ContactPlan.objects.create(
        organization=organization,
        start=start,
        end=end,
        requests=requests,
        unserved=[],
        created_by=user_or_none(actor),
    )
    for contact in contacts:
        contact.plan = contact_plan
    Contact.objects.bulk_create(contacts)
    record_event(
        organization=organization,
        kind="contact_plan.created",
        subject=contact_plan,
        actor=actor,
        payload={"contacts": len(contacts), "unserved": 0, "picked_passes": [p.pk for p in picked]},
    )
    _publish_plan(contact_plan, organization=organization)
    return contact_plan


def _publish_plan(contact_plan: ContactPlan, *, organization) -> None:
    """The plan as the API answers it on `passes` (its contacts read in three queries, not two each)."""
    prefetch_related_objects([contact_plan], "contacts__spacecraft", "contacts__station")
    live.publish("passes", live.live_message("plan", ContactPlanSerializer, contact_plan), organization=organization)
