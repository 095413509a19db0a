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
from django.db import connection
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
        from missionops.prepared import prepared

        user = self.user
        if not user or not user.is_authenticated:
            return []
        shape, params = _shape_and_params(user)
        with prepared(), connection.cursor() as cursor:
            cursor.execute(_named_sql(shape), [*params, list(ids), list(designations)])
            rows = cursor.fetchall()
        return [_spacecraft_from_row(row) for row in rows]


def _shape_and_params(user) -> tuple[str, list]:
    """Which of the three statements applies to `user`, and its parameters before the two arrays
    (the select list's, then the WHERE clause's: the order they appear in the text)."""
    ctype = ContentType.objects.get_for_model(Spacecraft).pk
    grants = [user.pk, ctype, user.pk, ctype]
    if user.is_superuser:
        return ("superuser" if user.is_active else "inactive-superuser"), [user.pk]
    if not user.is_active:
        return "inactive", [user.pk, *grants]
    return "member", [*grants, user.pk, *grants]


_statements: dict[str, str] = {}
_columns: dict = {}


def _named_sql(shape: str) -> str:
    if shape not in _statements:
        from .selectors import CONFIG_VERSION_OF_SPACECRAFT, STAMP_OF_SPACECRAFT

        may_operate = {
            "superuser": "TRUE",
            "inactive-superuser": "FALSE",
            "inactive": "FALSE",
            "member": _OPERATE_GRANTED,
        }[shape]
        visible = _MEMBER if shape.endswith("superuser") else f"{_MEMBER} AND {_VIEW_GRANTED}"
        sc_columns, org_columns = _select_columns()
        _statements[shape] = (
            f"SELECT {sc_columns}, {org_columns}, ({may_operate}), {CONFIG_VERSION_OF_SPACECRAFT}, "
            f"{STAMP_OF_SPACECRAFT} "
            'FROM "spacecraft_spacecraft" INNER JOIN "missionops_organization" '
            'ON ("spacecraft_spacecraft"."organization_id" = "missionops_organization"."id") '
            f"WHERE ({visible}) AND "
            '("spacecraft_spacecraft"."id" = ANY(%s::uuid[]) '
            'OR "spacecraft_spacecraft"."designation" = ANY(%s::text[]))'
        )
    return _statements[shape]


def _select_columns() -> tuple[str, str]:
    from missionops.models import Organization

    if not _columns:
        for model in (Spacecraft, Organization):
            fields = model._meta.concrete_fields
            _columns[model] = [f.attname for f in fields]
            _columns[model, "sql"] = ", ".join(f'"{model._meta.db_table}"."{f.column}"' for f in fields)
    return _columns[Spacecraft, "sql"], _columns[Organization, "sql"]


def _spacecraft_from_row(row) -> Spacecraft:
    from missionops.models import Organization

    sc_names, org_names = _columns[Spacecraft], _columns[Organization]
    n, m = len(sc_names), len(sc_names) + len(org_names)
    spacecraft = Spacecraft.from_db("default", sc_names, row[:n])
    organization = Organization.from_db("default", org_names, row[n:m])
    Spacecraft._meta.get_field("organization").set_cached_value(spacecraft, organization)  # as select_related
    spacecraft.may_operate, spacecraft.config_version_now, spacecraft.definitions_stamp = row[m:]
    return spacecraft
