"""Element sets: TLE / OMM import (passes follow) and the newest set of each spacecraft."""

from dataclasses import dataclass, field

import numpy as np
from django.db import transaction

from missionops.exceptions import DomainError
from missionops.models import Organization
from missionops.services import record_event
from missionops.tenancy import user_or_none
from spacecraft import services as spacecraft_services
from spacecraft.models import MissionType, Spacecraft

from .. import tle_format
from ..exceptions import CatalogueFormatError
from ..models import TLE, ElementFormat
from .passes import lock_passes, recompute_passes


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    created_spacecraft: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "created_spacecraft": self.created_spacecraft,
        }


def _guess_mission_type(mean_motion_rev_day: float) -> str:
    if 0.9 < mean_motion_rev_day < 1.1:
        return MissionType.GEO_COMMS
    if 1.5 < mean_motion_rev_day < 2.5:
        return MissionType.GNSS
    return MissionType.LEO_IMAGING


def _refusal(element_set, reason: str) -> dict:
    return {"location": element_set.location, "norad_id": element_set.norad_id, "reason": reason}


def _register_spacecraft(organization: Organization, element_set, actor, report: ImportReport) -> Spacecraft | None:
    """A spacecraft NORAD-<id> for a set of an unknown object, or None (the set refused) when
    it cannot be registered."""
    try:
        # A savepoint: a refused registration must not undo the sets already imported.
        with transaction.atomic():
            spacecraft = spacecraft_services.create_spacecraft(
                organization=organization,
                actor=actor,
                designation=f"NORAD-{element_set.norad_id}",
                name=element_set.object_name or f"NORAD {element_set.norad_id}",
                norad_id=element_set.norad_id,
                mission_type=_guess_mission_type(element_set.satrec.no_kozai * 720 / np.pi),
            )
    except DomainError as exc:
        reason = f"cannot register a spacecraft for NORAD id {element_set.norad_id}: {exc.message}"
        report.refused.append(_refusal(element_set, reason))
        return None
    report.created_spacecraft.append(spacecraft.designation)
    return spacecraft


@transaction.atomic
def import_tles(
    *,
    organization: Organization,
    text: str,
    source: str = "api",
    actor=None,
    create_missing: bool = False,
    all_or_nothing: bool = False,
) -> ImportReport:
    """Import the element sets of `text` (2-/3-line TLE or OMM JSON) for the organization's spacecraft.

    Matched by NORAD id. Each set is judged alone: a bad one is refused with its line
    and column (or record and field) and the others still go in. An epoch already stored is
    reported unchanged. Passes of every spacecraft whose current TLE changed are recomputed.
    With `create_missing`, a set whose spacecraft cannot be registered (its designation
    NORAD-<id> is taken) is refused alone. With `all_or_nothing` (catalogue sync), one refused
    set refuses the whole text: CatalogueFormatError naming it, and nothing stored."""
    lock_passes(organization_id=organization.pk)
    parsed = tle_format.parse(text)
    report = ImportReport(refused=[r.as_dict() for r in parsed.refused])
    by_norad = {sc.norad_id: sc for sc in Spacecraft.objects.filter(organization=organization, norad_id__isnull=False)}
    changed: set = set()
    for element_set in parsed.element_sets:
        spacecraft = by_norad.get(element_set.norad_id)
        if spacecraft is None and create_missing:
            spacecraft = _register_spacecraft(organization, element_set, actor, report)
            if spacecraft is None:
                continue
            by_norad[element_set.norad_id] = spacecraft
        if spacecraft is None:
            reason = f"no spacecraft with NORAD id {element_set.norad_id} in {organization.slug}"
            report.refused.append(_refusal(element_set, reason))
            continue
        entry = {
            "location": element_set.location,
            "norad_id": element_set.norad_id,
            "spacecraft": str(spacecraft.pk),
            "epoch": element_set.epoch.isoformat(),
        }
        if TLE.objects.filter(spacecraft=spacecraft, epoch=element_set.epoch).exists():
            report.unchanged.append({**entry, "reason": "this epoch is already stored"})
            continue
        current = current_tle(spacecraft)
        tle = TLE.objects.create(
            spacecraft=spacecraft,
            norad_id=element_set.norad_id,
            object_name=element_set.object_name,
            epoch=element_set.epoch,
            line1=element_set.line1,
            line2=element_set.line2,
            format=ElementFormat(element_set.format),
            source=source[:300],
            imported_by=user_or_none(actor),
        )
        report.imported.append({**entry, "id": tle.pk})
        if current is None or tle.epoch > current.epoch:
            changed.add(spacecraft.pk)
    if all_or_nothing and report.refused:
        first = report.refused[0]
        # Raised inside the transaction: whatever this text stored is rolled back.
        raise CatalogueFormatError(
            f"{len(report.refused)} element set(s) refused, the first at {first['location']}: {first['reason']}; "
            "nothing stored",
            field="payload",
        )
    if report.imported:
        record_event(
            organization=organization,
            kind="tle.imported",
            actor=actor,
            payload={"source": source[:300], "imported": len(report.imported), "refused": len(report.refused)},
        )
    if changed:
        recompute_passes(organization=organization, spacecraft_ids=changed)
    return report


def current_tle(spacecraft) -> TLE | None:
    """The newest element set of a spacecraft (by epoch), or None."""
    return TLE.objects.filter(spacecraft=spacecraft).order_by("-epoch").first()


def current_tles(spacecraft_qs) -> dict:
    """Spacecraft id -> its newest TLE, one query."""
    rows = (
        TLE.objects.filter(spacecraft__in=spacecraft_qs).order_by("spacecraft_id", "-epoch").distinct("spacecraft_id")
    )
    return {tle.spacecraft_id: tle for tle in rows}
