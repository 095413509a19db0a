"""operable_spacecraft_ids must answer what can_operate answers per spacecraft, in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm

from missionops.services import set_membership
from spacecraft.selectors import can_operate, operable_spacecraft_ids, spacecraft_visible_to

pytestmark = pytest.mark.django_db


def per_object(user) -> set:
    return {sc.pk for sc in spacecraft_visible_to(user) if can_operate(user, sc)}


def operable(user) -> set:
    return operable_spacecraft_ids(user, spacecraft_visible_to(user))


def test_mixed_roles_and_object_grants_across_two_organizations(make_user, make_spacecraft, org_a, org_b, make_org):
    """Operator in A, viewer in B; A's operators lose operate on one spacecraft, the user is granted it
    on one of B's; a grant in an organization they are not a member of does not count."""
    user = make_user("both", org_a, "operator")
    set_membership(organization=org_b, user=user, role="viewer")
    a1, a2, a3 = (make_spacecraft(org_a) for _ in range(3))
    b1, b2 = (make_spacecraft(org_b) for _ in range(2))
    c1 = make_spacecraft(make_org("Org C"))
    remove_perm("spacecraft.operate_spacecraft", org_a.operators_group, a3)
    assign_perm("spacecraft.operate_spacecraft", user, b2)
    assign_perm("spacecraft.view_spacecraft", user, c1)
    assign_perm("spacecraft.operate_spacecraft", user, c1)
    assert operable(user) == per_object(user) == {a1.pk, a2.pk, b2.pk}
    assert operable(make_user("viewer", org_a, "viewer")) == set()


def test_superusers_and_inactive_users(make_user, make_spacecraft, org_a, org_b):
    a1, a2 = make_spacecraft(org_a), make_spacecraft(org_a)
    make_spacecraft(org_b)
    root = get_user_model().objects.create_superuser("root", password="x" * 20)
    set_membership(organization=org_a, user=root, role="viewer")
    assert operable(root) == per_object(root) == {a1.pk, a2.pk}
    retired = make_user("retired", org_a, "operator")
    for user in (root, retired):
        user.is_active = False
        user.save()
        assert operable(user) == per_object(user) == set()


def test_one_query_however_many_spacecraft(make_user, make_spacecraft, org_a, org_b):
    user = make_user("both", org_a, "operator")
    set_membership(organization=org_b, user=user, role="viewer")
    make_spacecraft(org_a), make_spacecraft(org_b)
    operable(user)  # warm the content-type cache
    with CaptureQueriesContext(connection) as two:
        assert len(operable(user)) == 1
    assert len(two.captured_queries) == 1
    for _ in range(5):
        make_spacecraft(org_a), make_spacecraft(org_b)
    with CaptureQueriesContext(connection) as twelve:
        assert len(operable(user)) == 6
    assert len(twelve.captured_queries) == 1
