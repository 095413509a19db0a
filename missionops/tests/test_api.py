"""The organizations endpoint: the caller's organizations with their role in each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from missionops.services import set_membership

pytestmark = pytest.mark.django_db


def test_organizations_list_the_callers_roles_in_a_constant_number_of_queries(
    api, make_user, make_org, org_a, org_b, django_assert_max_num_queries
):
    user = make_user("member", org_a, "operator")
    make_user("other", org_b, "admin")  # an organization the caller is not in
    client = api(user)
    client.get("/api/v1/organizations/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as one:
        response = client.get("/api/v1/organizations/")
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [("org-a", "operator")]
    few = len(one.captured_queries)
    set_membership(organization=org_b, user=user, role="viewer")
    for name, role in (("Org C", "admin"), ("Org D", "viewer"), ("Org E", "operator")):
        set_membership(organization=make_org(name), user=user, role=role)
    with django_assert_max_num_queries(few):
        response = client.get("/api/v1/organizations/")
    assert [(o["slug"], o["role"]) for o in response.json()["results"]] == [
        ("org-a", "operator"),
        ("org-b", "viewer"),
        ("org-c", "admin"),
        ("org-d", "viewer"),
        ("org-e", "operator"),
    ]
    assert set(response.json()["results"][0]) == {"id", "name", "slug", "role", "created_at"}
    detail = client.get("/api/v1/organizations/org-c/")
    assert detail.status_code == 200 and detail.json()["role"] == "admin"
    make_org("Org F")  # not the caller's
    assert client.get("/api/v1/organizations/org-f/").status_code == 404
