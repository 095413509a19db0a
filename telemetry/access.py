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

import functools

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from missionops.models import Organization
from missionops.prepared import prepared
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


def _conditions(user: AbstractBaseUser) -> tuple[tuple[str, list], tuple[str, list]]:
    """The rules for an authenticated `user` as SQL: (visible, its parameters) and (may_operate,
    its parameters). The queryset and WritableScope's statement are both made from these."""
    ctype = ContentType.objects.get_for_model(Spacecraft).pk
    grants = [user.pk, ctype, user.pk, ctype]
    member_only = (_MEMBER, [user.pk])
    visible = member_only if user.is_superuser else (f"{_MEMBER} AND {_VIEW_GRANTED}", [user.pk, *grants])
    if not user.is_active:
        may_operate = ("FALSE", [])
    elif user.is_superuser:
        may_operate = ("TRUE", [])
    else:
        may_operate = (_OPERATE_GRANTED, grants)
    return visible, may_operate


def writable_spacecraft(user: AbstractBaseUser) -> QuerySet[Spacecraft]:
    """The spacecraft `user` may view, each annotated `may_operate` (bool). Top-level use only: the
    conditions name the table "spacecraft_spacecraft", so as a subquery of another model's query
    (`spacecraft__in=…`, where Django aliases the table) they would fail, loudly, not widen access."""
    if not user or not user.is_authenticated:
        return Spacecraft.objects.none()
    (visible, visible_params), (may_operate, may_operate_params) = _conditions(user)
    return Spacecraft.objects.filter(RawSQL(visible, visible_params, output_field=BooleanField())).annotate(
        may_operate=RawSQL(may_operate, may_operate_params, output_field=BooleanField())
    )


class WritableScope:
    """A user's ingest scope: what `writable_spacecraft(user)` holds, resolved for one batch by a
    statement written once per process and run prepared (`named`). Built and compiled through the
    ORM, the same query cost ~0.7 ms of Python per request, more than PostgreSQL took to run it.
    tests/test_access.py holds `named` equal to the queryset for every kind of user."""

    def __init__(self, user: AbstractBaseUser):
        self.user = user

    def queryset(self) -> QuerySet[Spacecraft]:
        return writable_spacecraft(self.user)

    def named(self, *, ids: list, designations: list[str]) -> list[Spacecraft]:
        """The spacecraft of this scope whose id is in `ids` or designation in `designations`, each
        with its organization loaded and annotated `may_operate`, `config_version_now` and
        `definitions_stamp` (telemetry.selectors.with_stamps)."""
        if not self.user or not self.user.is_authenticated:
            return []
        (visible, visible_params), (may_operate, may_operate_params) = _conditions(self.user)
        params = [*may_operate_params, *visible_params, list(ids), list(designations)]  # in text order
        with prepared(), connection.cursor() as cursor:
            cursor.execute(_named_sql(visible, may_operate), params)
            rows = cursor.fetchall()
        return [_spacecraft_from_row(row) for row in rows]


@functools.cache
def _named_sql(visible: str, may_operate: str) -> str:
    """The lookup for one pair of conditions (three pairs exist: member, superuser, inactive)."""
    from .selectors import CONFIG_VERSION_OF_SPACECRAFT, STAMP_OF_SPACECRAFT

    spacecraft_columns, organization_columns = (", ".join(columns) for _, columns in _select_lists())
    return (
        f"SELECT {spacecraft_columns}, {organization_columns}, ({may_operate}), {CONFIG_VERSION_OF_SPACECRAFT}, "
        f"{STAMP_OF_SPACECRAFT} "
        'FROM "spacecraft_spacecraft" INNER JOIN "missionops_organization" '
        'ON ("spacecraft_spacecraft"."organization_id" = "missionops_organization"."id") '
        f"WHERE ({visible}) AND "
        '("spacecraft_spacecraft"."id" = ANY(%s::uuid[]) '
        'OR "spacecraft_spacecraft"."designation" = ANY(%s::text[]))'
    )


@functools.cache
def _select_lists() -> tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]]:
    """(attribute names, qualified columns) of Spacecraft, then of Organization."""
    return tuple(
        (
            [f.attname for f in model._meta.concrete_fields],
            [f'"{model._meta.db_table}"."{f.column}"' for f in model._meta.concrete_fields],
        )
        for model in (Spacecraft, Organization)
    )


def _spacecraft_from_row(row) -> Spacecraft:
    (spacecraft_names, _), (organization_names, _) = _select_lists()
    n, m = len(spacecraft_names), len(spacecraft_names) + len(organization_names)
    spacecraft = Spacecraft.from_db("default", spacecraft_names, row[:n])
    organization = Organization.from_db("default", organization_names, row[n:m])
    Spacecraft._meta.get_field("organization").set_cached_value(spacecraft, organization)  # as select_related
    spacecraft.may_operate, spacecraft.config_version_now, spacecraft.definitions_stamp = row[m:]
    return spacecraft
