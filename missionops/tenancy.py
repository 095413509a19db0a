"""Who belongs where: the organization scoping every read and write goes through."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import OPERATING_ROLES, Membership, Organization, Role


def organizations_for(user: AbstractBaseUser) -> QuerySet[Organization]:
    if not user or not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def membership_for(user: AbstractBaseUser, organization: Organization) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def has_role(user: AbstractBaseUser, organization: Organization, *roles: Role) -> bool:
    membership = membership_for(user, organization)
    return membership is not None and membership.role in roles


def roles_by_organization(user: AbstractBaseUser, organization_ids) -> dict[int, str]:
    """The user's role in each of these organizations (absent where not a member), in one query:
    for checks over many objects at once, where `has_role` per object would be a query each."""
    if not user or not user.is_authenticated:
        return {}
    memberships = Membership.objects.filter(user=user, organization_id__in=set(organization_ids))
    return dict(memberships.order_by().values_list("organization_id", "role"))


def visible_events(user):
    """Events of the user's organizations; the `security.` audit trail only where they are admin."""
    from django.db.models import Q

    from .models import Event

    admin_orgs = (
        Membership.objects.filter(user=user, role=Role.ADMIN).values("organization") if user.is_authenticated else []
    )
    return Event.objects.filter(organization__in=organizations_for(user)).filter(
        ~Q(kind__startswith="security.") | Q(organization__in=admin_orgs)
    )


def user_or_none(actor):
    """The acting user to store on a row, or None for system actions (tasks, commands, anonymous)."""
    return actor if getattr(actor, "is_authenticated", False) else None


def admin_organizations(user) -> QuerySet[Organization]:
    """Organizations in which the user holds the admin role (keys, webhooks, the audit trail)."""
    if not user or not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user, memberships__role=Role.ADMIN)


def operating_organizations(user) -> QuerySet[Organization]:
    """Organizations in which the user may operate (operator or admin): commands, plans, jobs."""
    if not user or not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        pk__in=Membership.objects.filter(user=user, role__in=OPERATING_ROLES).values("organization_id")
    )
