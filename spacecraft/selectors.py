"""Reads of the registry, always on behalf of a user: nothing outside their organizations."""

import uuid

from django.apps import apps
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from missionops.models import Event
from missionops.tenancy import organizations_for

from .models import Command, CommandState, ConfigVersion, Constellation, Mode, ReleaseMode, Spacecraft


def spacecraft_visible_to(user) -> QuerySet[Spacecraft]:
    """Spacecraft of the user's organizations on which they hold view_spacecraft."""
    if not user or not user.is_authenticated:
        return Spacecraft.objects.none()
    in_orgs = Spacecraft.objects.filter(organization__in=organizations_for(user))
    return get_objects_for_user(
        user, "spacecraft.view_spacecraft", klass=in_orgs, accept_global_perms=False
    ).select_related("organization", "constellation")


def spacecraft_with_config_version(user) -> QuerySet[Spacecraft]:
    """As `spacecraft_visible_to`, each annotated with `current_config_version` (None without one),
    read in the same query: `current_config` is a query per spacecraft and loads the parameters."""
    current = ConfigVersion.objects.filter(spacecraft=OuterRef("pk")).order_by("-version").values("version")[:1]
    return spacecraft_visible_to(user).annotate(current_config_version=Subquery(current))


def can_operate(user, spacecraft: Spacecraft) -> bool:
    return user.is_authenticated and user.has_perm("spacecraft.operate_spacecraft", spacecraft)


def operable_spacecraft_ids(user, spacecraft: QuerySet[Spacecraft]) -> set[uuid.UUID]:
    """The pks of those of `spacecraft` on which `can_operate` holds, in one query however many there
    are (`can_operate` costs two each): operate_spacecraft granted through guardian to the user or one
    of their groups, per object as has_perm reads it; every one for an active superuser; none for an
    inactive user, whom guardian's has_perm refuses but its `get_objects_for_user` does not."""
    if not user or not user.is_authenticated or not user.is_active:
        return set()
    operable = get_objects_for_user(user, "spacecraft.operate_spacecraft", klass=spacecraft, accept_global_perms=False)
    return set(operable.order_by().values_list("pk", flat=True))


def constellations_visible_to(user) -> QuerySet[Constellation]:
    return Constellation.objects.filter(organization__in=organizations_for(user)).annotate(
        spacecraft_count=Count("spacecraft")
    )


def fleet_overview(user) -> dict:
    """The fleet grouped by mode, in the order an operator triages them."""
    fleet = list(spacecraft_visible_to(user).order_by("designation"))
    order = [Mode.SURVIVAL, Mode.SAFE, Mode.STANDBY, Mode.NOMINAL]
    return {
        "groups": [(mode, [sc for sc in fleet if sc.mode == mode]) for mode in order],
        "count": len(fleet),
    }


def recent_events(*, spacecraft: Spacecraft, limit: int = 20) -> QuerySet[Event]:
    return Event.objects.filter(organization_id=spacecraft.organization_id, spacecraft_id=spacecraft.pk)[:limit]


def organization_id_for_spacecraft_topic(user, ident: str):
    """Resolver for live topics `sc.<uuid>`: the spacecraft's organization id, or None."""
    try:
        pk = uuid.UUID(ident)
    except ValueError:
        return None
    return spacecraft_visible_to(user).filter(pk=pk).values_list("organization_id", flat=True).first()


def waits_for(command: Command, *, now=None) -> dict | None:
    """For a queued next-contact command, the scheduled contact that will release it: station,
    AOS (contact start), LOS and plan; None for any other command, or when no contact plan has
    the spacecraft in contact from now on (then it waits until one does: see `release_warning`)."""
    if command.state != CommandState.QUEUED or command.release_mode != ReleaseMode.NEXT_CONTACT:
        return None
    try:
        contact_model = apps.get_model("orbits", "Contact")
    except LookupError:
        return None
    now = now or timezone.now()
    contact = (
        contact_model.objects.filter(spacecraft_id=command.spacecraft_id, end__gt=now)
        .select_related("station")
        .order_by("start")
        .first()
    )
    if contact is None:
        return None
    return {
        "station": contact.station.name,
        "aos": contact.start.isoformat(),
        "los": contact.end.isoformat(),
        "plan": contact.plan_id,
    }


def release_warning(command: Command, *, now=None) -> str:
    """Why a queued next-contact command may wait for ever ('' when a contact will release it)."""
    if command.state != CommandState.QUEUED or command.release_mode != ReleaseMode.NEXT_CONTACT:
        return ""
    if waits_for(command, now=now) is not None:
        return ""
    return (
        f"no contact plan has {command.spacecraft.designation} in contact from now on: the command waits "
        "until a plan with a contact for it is built (Orbits → Passes), or cancel it and release it now"
    )
