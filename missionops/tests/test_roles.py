"""Role checks share one helper (`missionops.api.require_role`): a member without the role gets a
403 that names the roles, the organization and what was refused, worded the same in every app;
another organization's objects stay 404; checks over many objects cost no query per object."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import remove_perm

from missionops.api import RoleRequired, require_role
from missionops.models import Role


def test_require_role_returns_the_membership_or_names_roles_organization_and_role_held(
    org_a, owner, operator, viewer, stranger
):
    assert require_role(operator, org_a, Role.OPERATOR, Role.ADMIN, action="cancel this job").role == "operator"
    assert require_role(owner, org_a, Role.ADMIN, action="x").user == owner
    with pytest.raises(RoleRequired) as refused:
        require_role(viewer, org_a, Role.ADMIN, Role.OPERATOR, action="cancel this job")
    assert refused.value.status_code == 403
    assert str(refused.value.detail) == (
        "you need the operator or admin role in organization 'org-a' to cancel this job (your role there: viewer)"
    )
    with pytest.raises(RoleRequired, match=r"organization 'org-a' to do it \(you are not a member\)$"):
        require_role(stranger, org_a, Role.VIEWER, action="do it")
    with pytest.raises(TypeError):
        require_role(owner, org_a, action="name no role")


def _station(org):
    from orbits.services import create_station

    return create_station(organization=org, name="Wallops", latitude_deg=37.9, longitude_deg=-75.5, altitude_m=10)


def _job(org, actor):
    from jobs.services import submit_job

    return submit_job(organization=org, actor=actor, kind="noop", params={})


def _document(org, actor):
    from spacecraft.services import create_document

    return create_document(organization=org, title="Safe mode recovery", category="procedure", actor=actor)


def _observatory(org):
    from telescopes.services import create_observatory

    return create_observatory(organization=org, name="Obs", latitude_deg=48.0, longitude_deg=8.0, altitude_m=1000)


# (what to make in organization A, request, who asks, the 403 message)
CASES = [
    (
        "spacecraft",
        lambda x: ("patch", f"/api/v1/spacecraft/{x.pk}/", {"name": "Renamed"}),
        "operator",
        "you need the admin role in organization 'org-a' to change this spacecraft's registry fields "
        "(your role there: operator)",
    ),
    (
        "spacecraft",
        lambda x: ("post", f"/api/v1/spacecraft/{x.pk}/state/", {"mode": "safe"}),
        "viewer",
        "you need the operate_spacecraft permission on SC-001 in organization 'org-a' to update its live state",
    ),
    (
        "job",
        lambda x: ("post", f"/api/v1/jobs/{x.pk}/cancel/", {}),
        "viewer",
        "you need the operator or admin role in organization 'org-a' to cancel this job (your role there: viewer)",
    ),
    (
        "station",
        lambda x: ("delete", f"/api/v1/ground-stations/{x.pk}/", None),
        "operator",
        "you need the admin role in organization 'org-a' to delete this ground station (your role there: operator)",
    ),
    (
        "document",
        lambda x: ("post", f"/api/v1/documents/{x.pk}/publish/", None),
        "viewer",
        "you need the operator or admin role in organization 'org-a' to publish this document "
        "(your role there: viewer)",
    ),
    (
        "observatory",
        lambda x: ("patch", f"/api/v1/observatories/{x.pk}/", {"name": "Renamed"}),
        "operator",
        "you need the admin role in organization 'org-a' to change this observatory (your role there: operator)",
    ),
]


@pytest.mark.parametrize("kind, request_for, who, message", CASES, ids=[c[2] + "-" + c[0] for c in CASES])
def test_a_member_without_the_role_gets_403_naming_roles_and_organization_and_another_organization_404(
    api, org_a, owner, operator, viewer, stranger, sc_a, kind, request_for, who, message
):
    target = {
        "spacecraft": lambda: sc_a,
        "job": lambda: _job(org_a, owner),
        "station": lambda: _station(org_a),
        "document": lambda: _document(org_a, owner),
        "observatory": lambda: _observatory(org_a),
    }[kind]()
    method, url, body = request_for(target)
    refused = getattr(api({"operator": operator, "viewer": viewer}[who]), method)(url, body, format="json")
    assert refused.status_code == 403 and refused.json()["detail"] == message
    assert getattr(api(stranger), method)(url, body, format="json").status_code == 404


def test_creating_names_the_roles_with_or_without_an_organization(api, org_a, operator, viewer):
    named = api(operator).post(
        "/api/v1/spacecraft/",
        {"organization": "org-a", "designation": "SC-300", "name": "N", "mission_type": "LEO_IMAGING"},
        format="json",
    )
    assert named.status_code == 403 and named.json()["detail"] == (
        "you need the admin role in organization 'org-a' to register spacecraft (your role there: operator)"
    )
    unnamed = api(viewer).post("/api/v1/jobs/", {"kind": "noop"}, format="json")
    assert unnamed.status_code == 403 and unnamed.json()["detail"] == (
        "you need the operator or admin role in one of your organizations to submit jobs (you hold it in none)"
    )


def test_operate_spacecraft_stays_a_per_object_permission(api, org_a, operator, sc_a, make_spacecraft):
    other = make_spacecraft(org_a, "SC-002")
    remove_perm("spacecraft.operate_spacecraft", org_a.operators_group, sc_a)
    client = api(operator)
    refused = client.post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"mode": "safe"}, format="json")
    assert refused.status_code == 403 and "operate_spacecraft permission on SC-001" in refused.json()["detail"]
    assert client.post(f"/api/v1/spacecraft/{other.pk}/state/", {"mode": "safe"}, format="json").status_code == 200
    listed = {s["designation"]: s["can_operate"] for s in client.get("/api/v1/spacecraft/").json()["results"]}
    assert listed == {"SC-001": False, "SC-002": True}


def _queries(client, method, url, body=None, match=lambda sql: True):
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, body, format="json")
    return response, [q["sql"] for q in captured.captured_queries if match(q["sql"])]


def _permission_lookup(sql: str) -> bool:
    """A read of guardian's object permissions itself, not the visibility filter inside the list's query."""
    return "guardian_" in sql and not sql.startswith(("SELECT COUNT(*)", 'SELECT "spacecraft_spacecraft"'))


def test_the_spacecraft_list_loads_permissions_once_per_page(api, org_a, operator, viewer, make_spacecraft):
    make_spacecraft(org_a)
    response, one = _queries(api(operator), "get", "/api/v1/spacecraft/", match=_permission_lookup)
    assert [s["can_operate"] for s in response.json()["results"]] == [True]
    for _ in range(4):
        make_spacecraft(org_a)
    response, five = _queries(api(operator), "get", "/api/v1/spacecraft/", match=_permission_lookup)
    assert [s["can_operate"] for s in response.json()["results"]] == [True] * 5
    assert len(one) == len(five) == 2  # user and group object permissions, for the whole page
    response = api(viewer).get("/api/v1/spacecraft/")
    assert [s["can_operate"] for s in response.json()["results"]] == [False] * 5


def test_bulk_checks_roles_in_one_query_whatever_the_number_of_jobs(api, org_a, owner, operator, viewer):
    jobs = [_job(org_a, owner) for _ in range(5)]
    body_one = {"action": "cancel", "ids": [jobs[0].pk]}
    body_all = {"action": "cancel", "ids": [j.pk for j in jobs]}
    refused_one, queries_one = _queries(api(viewer), "post", "/api/v1/jobs/bulk/", body_one)
    refused_all, queries_all = _queries(api(viewer), "post", "/api/v1/jobs/bulk/", body_all)
    assert refused_one.status_code == refused_all.status_code == 403
    assert refused_all.json()["detail"] == (
        "you need the operator or admin role in organization 'org-a' to cancel these jobs (your role there: viewer)"
    )
    assert len(queries_one) == len(queries_all)
    done, membership_reads = _queries(
        api(operator), "post", "/api/v1/jobs/bulk/", body_all, match=lambda sql: '"missionops_membership"."role"' in sql
    )
    assert sorted(done.json()["done"]) == sorted(j.pk for j in jobs)
    assert len(membership_reads) == 1
