"""telemetry.access must answer exactly what spacecraft.selectors answers, for every kind of user."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm

from missionops.services import set_membership
from spacecraft.models import Spacecraft
from spacecraft.selectors import can_operate, spacecraft_visible_to
from telemetry import access
from telemetry.selectors import with_stamps


def assert_same_as_selectors(user):
    fleet = list(Spacecraft.objects.all())
    ours = {sc.pk: sc.may_operate for sc in access.writable_spacecraft(user)}
    assert set(ours) == set(spacecraft_visible_to(user).values_list("pk", flat=True)), user
    for sc in fleet:
        if sc.pk in ours:
            assert ours[sc.pk] == can_operate(user, sc), (user, sc)
    assert_named_same_as_queryset(user, fleet)
    return ours


def assert_named_same_as_queryset(user, fleet):
    """The ingest's hand-written lookup (WritableScope.named) finds what the queryset holds, by id
    and by designation, with the same annotations and the organization loaded."""
    scope = access.WritableScope(user)
    expected = {sc.pk: sc for sc in with_stamps(scope.queryset()).select_related("organization")}
    by_id = scope.named(ids=[sc.pk for sc in fleet], designations=[])
    by_designation = scope.named(ids=[], designations=[sc.designation for sc in fleet])
    for found in (by_id, by_designation):
        assert {sc.pk for sc in found} == set(expected), user
        for sc in found:
            want = expected[sc.pk]
            assert (sc.may_operate, sc.config_version_now, bytes(sc.definitions_stamp or b"")) == (
                want.may_operate,
                want.config_version_now,
                bytes(want.definitions_stamp or b""),
            )
            assert sc.designation == want.designation and sc.mode == want.mode
            with CaptureQueriesContext(connection) as queries:
                assert sc.organization.name == want.organization.name  # loaded with it: no query
            assert not queries.captured_queries
    assert scope.named(ids=[], designations=["NO-SUCH"]) == []


@pytest.fixture
def fleet(make_spacecraft, org_a, org_b):
    return [make_spacecraft(org_a), make_spacecraft(org_a), make_spacecraft(org_b)]


def test_roles_and_strangers(fleet, owner, operator, viewer, stranger):
    a1, a2, b1 = fleet
    assert assert_same_as_selectors(owner) == {a1.pk: True, a2.pk: True}
    assert assert_same_as_selectors(operator) == {a1.pk: True, a2.pk: True}
    assert assert_same_as_selectors(viewer) == {a1.pk: False, a2.pk: False}
    assert assert_same_as_selectors(stranger) == {b1.pk: True}


def test_object_grants_and_revocations(fleet, operator, viewer, org_a):
    a1, a2, _ = fleet
    assign_perm("spacecraft.operate_spacecraft", viewer, a1)  # to the user, on one spacecraft
    remove_perm("spacecraft.operate_spacecraft", org_a.operators_group, a2)  # from the role's group
    remove_perm("spacecraft.view_spacecraft", org_a.viewers_group, a2)
    assert assert_same_as_selectors(viewer) == {a1.pk: True}
    assert assert_same_as_selectors(operator) == {a1.pk: True, a2.pk: False}


def test_grants_outside_the_organization_do_not_count(fleet, stranger):
    a1, _, b1 = fleet
    assign_perm("spacecraft.view_spacecraft", stranger, a1)
    assign_perm("spacecraft.operate_spacecraft", stranger, a1)
    assert assert_same_as_selectors(stranger) == {b1.pk: True}


def test_superusers_and_inactive_users(fleet, make_user, org_a):
    a1, a2, _ = fleet
    root = get_user_model().objects.create_superuser("root", password="x" * 20)
    assert assert_same_as_selectors(root) == {}  # no membership: nothing, even for a superuser
    set_membership(organization=org_a, user=root, role="viewer")
    assert assert_same_as_selectors(root) == {a1.pk: True, a2.pk: True}
    root.is_active = False
    root.save()
    assert assert_same_as_selectors(root) == {a1.pk: False, a2.pk: False}
    retired = make_user("retired", org_a, "operator")
    retired.is_active = False
    retired.save()
    assert assert_same_as_selectors(retired) == {a1.pk: False, a2.pk: False}


def test_member_without_groups_sees_nothing(fleet, make_user, org_a):
    lurker = make_user("lurker", org_a, "viewer")
    lurker.groups.clear()
    assert assert_same_as_selectors(lurker) == {}
