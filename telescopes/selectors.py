"""Reads scoped to the caller's organizations."""

from django.db.models import QuerySet

from missionops.models import OPERATING_ROLES
from missionops.tenancy import organizations_for, roles_by_organization

from .models import AlpacaDevice, Exposure, ObservationSession, Observatory, Operation


def observatories_visible_to(user) -> QuerySet[Observatory]:
    return Observatory.objects.filter(organization__in=organizations_for(user)).select_related("organization")


def observatories_operated_by(user) -> QuerySet[Observatory]:
    """Observatories where the user may operate (start sessions, slew): operator or admin there."""
    if not user or not user.is_authenticated:
        return Observatory.objects.none()
    return observatories_visible_to(user).filter(
        organization__memberships__user=user, organization__memberships__role__in=OPERATING_ROLES
    )


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
        "observatory__organization", "telescope", "camera", "spacecraft", "element_set"
    )


def telescopes_overview(user) -> list[dict]:
    """Observatories with their devices, the latest operations and whether the user may operate
    there, for the page: a fixed number of queries however many observatories there are."""
    observatories = list(observatories_visible_to(user).prefetch_related("devices"))
    recent = list(operations_visible_to(user)[:30])
    roles = roles_by_organization(user, (observatory.organization_id for observatory in observatories))
    return [
        {
            "observatory": observatory,
            "devices": list(observatory.devices.all()),
            "operations": [op for op in recent if op.device.observatory_id == observatory.pk],
            "can_operate": roles.get(observatory.organization_id) in OPERATING_ROLES,
        }
        for observatory in observatories
    ]
