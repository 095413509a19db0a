"""Who belongs where: the organization scoping every read and write goes through."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Membership, Organization, Role


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
