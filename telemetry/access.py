"""Which spacecraft a user's telemetry batch may name, and which of them the user may write.

The rules are spacecraft.selectors' `spacecraft_visible_to` (a member of the spacecraft's
organization holding view_spacecraft on it through django-guardian, from the user or one of their
groups; a superuser needs only the membership) and `can_operate` (an active user holding
operate_spacecraft on it likewise; an active superuser always). Here they are SQL conditions on
guardian's tables, so the ingest resolves a batch's spacecraft and checks them in the one query
it runs anyway: built through the ORM and guardian they cost three more queries and ~9 ms of
query building per request, most of a small batch's time. tests/test_access.py holds the two
equal for owners, operators, viewers, strangers, superusers, inactive users and per-object grants.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import BooleanField, QuerySet, Value
from django.db.models.expressions import RawSQL

from spacecraft.models import Spacecraft

# Grants of `codename` on spacecraft to the user (%s: user id, content type id) and to their
# groups (%s: user id, content type id), as guardian stores them (object_pk: the id as text).
_GRANTS = """
    SELECT uop.object_pk FROM guardian_userobjectpermission uop
    JOIN auth_permission p ON p.id = uop.permission_id
    WHERE uop.user_id = %s AND p.content_type_id = %s AND p.codename = '{codename}'
    UNION ALL
    SELECT gop.object_pk FROM guardian_groupobjectpermission gop
    JOIN auth_permission p ON p.id = gop.permission_id
    JOIN auth_user_groups ug ON ug.group_id = gop.group_id
    WHERE ug.user_id = %s AND p.content_type_id = %s AND p.codename = '{codename}'
"""
_MEMBER = (
    '"spacecraft_spacecraft"."organization_id" IN '
    "(SELECT organization_id FROM missionops_membership WHERE user_id = %s)"
)
# guardian compares the stored object_pk cast to uuid for lists and as text for one object.
_VIEW_GRANTED = '"spacecraft_spacecraft"."id" IN (SELECT object_pk::uuid FROM ({grants}) g)'.format(
    grants=_GRANTS.format(codename="view_spacecraft")
)
_OPERATE_GRANTED = 'EXISTS (SELECT 1 FROM ({grants}) g WHERE g.object_pk = "spacecraft_spacecraft"."id"::text)'.format(
    grants=_GRANTS.format(codename="operate_spacecraft")
)


def writable_spacecraft(user: AbstractBaseUser) -> QuerySet[Spacecraft]:
    """The spacecraft `user` may view, each annotated `may_operate` (bool). Top-level use only: the
    conditions name the table "spacecraft_spacecraft", so as a subquery of another model's query
    (`spacecraft__in=…`, where Django aliases the table) they would fail, loudly, not widen access."""
    if not user or not user.is_authenticated:
        return Spacecraft.objects.none()
    ctype = ContentType.objects.get_for_model(Spacecraft).pk
    grants = [user.pk, ctype, user.pk, ctype]
    if user.is_superuser:
        visible = RawSQL(_MEMBER, [user.pk], output_field=BooleanField())
    else:
        visible = RawSQL(f"{_MEMBER} AND {_VIEW_GRANTED}", [user.pk, *grants], output_field=BooleanField())
    if not user.is_active:
        may_operate = Value(False)
    elif user.is_superuser:
        may_operate = Value(True)
    else:
        may_operate = RawSQL(_OPERATE_GRANTED, grants, output_field=BooleanField())
    return Spacecraft.objects.filter(visible).annotate(may_operate=may_operate)
