"""What a batch may name and who may write it: the scopes ingest resolves spacecraft in."""

from collections.abc import Callable

from django.db.models import QuerySet

from missionops.models import Organization
from spacecraft.models import Spacecraft

from .. import access


def writable_scope_for(user) -> tuple[access.WritableScope, Callable[[Spacecraft], bool]]:
    """What a user's batch may name (their visible spacecraft) and who may write (operators).
    Both are checked by the query that resolves the batch's spacecraft (see telemetry.access)."""
    from spacecraft.selectors import can_operate

    def may_write(sc: Spacecraft) -> bool:
        granted = getattr(sc, "may_operate", None)  # None: resolved from some other scope
        return can_operate(user, sc) if granted is None else granted

    return access.WritableScope(user), may_write


def organization_scope(organization: Organization) -> QuerySet[Spacecraft]:
    """Every spacecraft of one organization (services and the simulator write as the organization)."""
    return Spacecraft.objects.filter(organization=organization)
