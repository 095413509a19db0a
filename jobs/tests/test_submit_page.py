"""Submitting a job from the browser: the API's validation with errors next to the field, the
footprint from a bbox, templates to start from, other organizations and viewers kept out."""

import json

import pytest

from jobs.models import Job, JobTemplate


def test_operator_submits_a_tile_job_with_a_drawn_footprint(client, operator, org_a):
    client.force_login(operator)
    assert "Submit" in client.get("/jobs/new/").content.decode()
    response = client.post(
        "/jobs/new/",
        {"name": "alps", "kind": "tile", "params": "{}", "priority": 0, "max_attempts": 3, "bbox": "7,45,8,46"},
    )
    job = Job.objects.get(organization=org_a)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.footprint["coordinates"][0][0] == [7.0, 45.0] and job.name == "alps"


def test_bad_input_is_named_next_to_the_field_and_nothing_is_written(client, operator, org_a):
    client.force_login(operator)
    base = {"kind": "sleep", "priority": 0, "max_attempts": 3}
    bad_json = client.post("/jobs/new/", {**base, "params": "{nope"}).content.decode()
    assert 'id="id_params-error"' in bad_json and "not JSON: line 1 column 2" in bad_json
    bad_param = client.post("/jobs/new/", {**base, "params": json.dumps({"duration_s": -1})}).content.decode()
    assert 'id="id_params-error"' in bad_param and "params.duration_s" in bad_param
    no_footprint = client.post("/jobs/new/", {**base, "kind": "tile", "params": "{}"}).content.decode()
    assert 'id="id_bbox-error"' in no_footprint and "needs a footprint" in no_footprint
    bad_bbox = client.post("/jobs/new/", {**base, "bbox": "1,2,3"}).content.decode()
    assert "four numbers" in bad_bbox
    assert not Job.objects.exists()


def test_a_template_fills_the_form(client, operator, org_a):
    template = JobTemplate.objects.create(
        organization=org_a,
        name="nightly",
        kind="sleep",
        params={"duration_s": 2},
        footprint={"type": "Polygon", "coordinates": [[[7, 45], [8, 45], [8, 46], [7, 46], [7, 45]]]},
    )
    client.force_login(operator)
    body = client.get(f"/jobs/new/?template={template.pk}").content.decode()
    assert 'value="nightly"' in body and "duration_s" in body and 'value="7.000,45.000,8.000,46.000"' in body


def test_another_organizations_template_is_not_offered(client, stranger, org_a):
    template = JobTemplate.objects.create(organization=org_a, name="theirs", kind="noop")
    client.force_login(stranger)
    body = client.get(f"/jobs/new/?template={template.pk}").content.decode()
    assert "theirs" not in body


@pytest.mark.parametrize("who", ["viewer"])
def test_viewers_cannot_submit(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post("/jobs/new/", {"kind": "noop", "params": "{}", "priority": 0, "max_attempts": 3})
    assert response.status_code == 403 and not Job.objects.exists()
