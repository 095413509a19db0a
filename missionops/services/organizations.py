"""Organizations and memberships (a member's role decides their permission groups)."""

from django.contrib.auth.models import Group
from django.db import transaction
from django.dispatch import Signal
from django.utils.text import slugify

from .. import live
from ..exceptions import ConflictError, DomainError
from ..models import Membership, Organization, Role
from .events import record_event

# Sent when a member's role changes or they leave (role None), inside the transaction: the API keys
# they created that now exceed their standing are revoked (services.apikeys, connected in ready).
membership_changed = Signal()


@transaction.atomic
def create_organization(*, name: str, slug: str = "") -> Organization:
    """A new organization with its viewers and operators permission groups."""
    slug = slug or slugify(name)
    if not slug:
        raise DomainError("organization name must contain letters or digits", field="name")
    if Organization.objects.filter(slug=slug).exists():
        raise ConflictError(f"organization {slug!r} already exists", field="slug")
    return Organization.objects.create(
        name=name,
        slug=slug,
        viewers_group=Group.objects.create(name=f"org:{slug}:viewers"),
        operators_group=Group.objects.create(name=f"org:{slug}:operators"),
    )


@transaction.atomic
def set_membership(*, organization: Organization, user, role: Role, actor=None) -> Membership:
    """Give `user` exactly `role` in `organization`: the role's permission groups follow."""
    if role not in Role.values:
        raise DomainError(f"unknown role {role!r}", field="role")
    membership, created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        membership_changed.send(sender=Membership, organization=organization, user=user, role=role, actor=actor)
        live.access_changed(user.pk)
    user.groups.add(organization.viewers_group)
    if membership.can_operate:
        user.groups.add(organization.operators_group)
    else:
        user.groups.remove(organization.operators_group)
    record_event(
        organization=organization,
        kind="security.membership.created" if created else "security.membership.changed",
        subject=membership,
        actor=actor,
        payload={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def remove_membership(*, membership: Membership, actor=None) -> None:
    """Remove `membership`: the member's groups, keys beyond their standing and open sockets go."""
    organization, user = membership.organization, membership.user
    membership_changed.send(sender=Membership, organization=organization, user=user, role=None, actor=actor)
    live.access_changed(user.pk)
    user.groups.remove(organization.viewers_group, organization.operators_group)
    record_event(
        organization=organization,
        kind="security.membership.removed",
        subject=membership,
        actor=actor,
        payload={"user": user.get_username(), "role": membership.role},
    )
    membership.delete()
