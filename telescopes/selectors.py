"""Reads scoped to the caller's organizations."""

from django.db.models import QuerySet

from missionops.models import Role
from missionops.tenancy import has_role, organizations_for

from .models import AlpacaDevice, Exposure, ObservationSession, Observatory, Operation


def observatories_visible_to(user) -> QuerySet[Observatory]:
    return Observatory.objects.filter(organization__in=organizations_for(user)).select_related("organization")


def devices_visible_to(user) -> QuerySet[AlpacaDevice]:
    return AlpacaDevice.objects.filter(observatory__organization__in=organizations_for(user)).select_related(
        "observatory__organization"
    )


def operations_visible_to(user) -> QuerySet[Operation]:
    return Operation.objects.filter(device__observatory__organization__in=organizations_for(user)).select_related(
        "device__observatory__organization", "requested_by"
    )


def exposures_visible_to(user) -> QuerySet[Exposure]:
    return Exposure.objects.filter(camera__observatory__organization__in=organizations_for(user)).select_related(
        "camera__observatory"
    )


def sessions_visible_to(user) -> QuerySet[ObservationSession]:
    return ObservationSession.objects.filter(observatory__organization__in=organizations_for(user)).select_related(
        "observatory__organization", "telescope", "camera", "spacecraft"
    )


def can_operate(user, organization) -> bool:
    return has_role(user, organization, Role.OPERATOR, Role.ADMIN)


def can_administer(user, organization) -> bool:
    return has_role(user, organization, Role.ADMIN)


def telescopes_overview(user) -> list[dict]:
    """Observatories with their devices, the latest operations and sessions, for the page."""
    observatories = list(observatories_visible_to(user).prefetch_related("devices"))
    recent = list(operations_visible_to(user)[:30])
    return [
        {
            "observatory": observatory,
            "devices": list(observatory.devices.all()),
            "operations": [op for op in recent if op.device.observatory_id == observatory.pk],
        }
        for observatory in observatories
    ]
