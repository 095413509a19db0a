"""Dashboard pages: scoped to the caller's organizations, live hooks present, bad filters shown."""

from jobs.services import dispatch


def login(client, user):
    client.force_login(user)
    return client


def test_queue_page_shows_own_jobs_gpus_and_live_hooks(client, owner, submit, gpus):
    job = submit(kind="tile", name="Alps tile")
    page = login(client, owner).get("/jobs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="job-{job.pk}"' in html and "Alps tile" in html
    assert "simulated" in html and 'data-page="queue"' in html and "footprints-data" in html
    assert 'data-bulk="cancel"' in html  # an admin may act


def test_viewer_gets_no_bulk_actions_and_stranger_sees_nothing(client, viewer, stranger, submit):
    job = submit()
    assert 'data-bulk="cancel"' not in login(client, viewer).get("/jobs/").content.decode()
    client.logout()
    html = login(client, stranger).get("/jobs/").content.decode()
    assert f'id="job-{job.pk}"' not in html
    assert client.get(f"/jobs/{job.pk}/").status_code == 404


def test_bad_bbox_filter_is_shown_not_a_500(client, owner, submit):
    submit()
    page = login(client, owner).get("/jobs/", {"bbox": "nonsense"})
    assert page.status_code == 200 and "bbox" in page.content.decode() and "four numbers" in page.content.decode()


def test_queue_page_filters_by_one_of_our_templates(client, owner, org_a, submit):
    from jobs.models import JobTemplate
    from jobs.services import submit_from_template

    template = JobTemplate.objects.create(organization=org_a, name="nightly", kind="noop")
    from_template, other = submit_from_template(template=template, actor=owner), submit(kind="noop")
    page = login(client, owner).get("/jobs/", {"template": template.pk})
    html = page.content.decode()
    assert page.status_code == 200 and "Select a valid choice" not in html
    assert f'id="job-{from_template.pk}"' in html and f'id="job-{other.pk}"' not in html


def test_detail_page_shows_log_quicklook_and_dag(client, owner, submit, claimer):
    parent = submit()
    child = submit(parents=[parent.pk])
    dispatch.claim_jobs(claimer=claimer)
    dispatch.complete_job(
        job_id=parent.pk, worker=claimer.worker, result={"ok": 1}, artifacts=[("quicklook.png", "image/png", b"x")]
    )
    html = login(client, owner).get(f"/jobs/{parent.pk}/").content.decode()
    assert "attempt 1/3" in html and f"/api/v1/jobs/{parent.pk}/artifacts/quicklook.png/" in html
    assert f'href="/jobs/{child.pk}/"' in html and f'data-page="detail" data-job="{parent.pk}"' in html


def test_detail_page_shows_a_tile_result_as_values_a_histogram_and_json(client, owner, submit, claimer, gpus):
    import json
    import re

    job = submit(kind="tile")
    dispatch.claim_jobs(claimer=claimer)
    result = {"backend": "numpy", "bbox": [6.0, 45.0, 7.0, 46.0], "ndvi_mean": 0.312914301, "pixels": 262144}
    result["ndvi_histogram"] = [0] * 10 + [40, 30, 20, 10, 5, 5, 5, 5, 5, 0]
    dispatch.complete_job(job_id=job.pk, worker=claimer.worker, result=result)
    html = login(client, owner).get(f"/jobs/{job.pk}/").content.decode()
    assert "<dt>ndvi_mean</dt><dd>0.312914</dd>" in html and "<dt>bbox</dt><dd>6, 45, 7, 46</dd>" in html
    assert "<dt>ndvi_histogram</dt>" not in html  # drawn, not listed
    bars = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', html)
    assert len(bars) == 20 and max(float(h) for _, h in bars) == 120.0  # the fullest bin fills the chart
    assert "NDVI 0.00 to 0.10: 40 px" in html
    raw = re.search(r'<pre class="payload" id="result-json">(.*?)</pre>', html, re.S).group(1)
    assert json.loads(raw.replace("&quot;", '"')) == result
    finished = r"<dd id=\"job-finished\"><time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ</time></dd>"
    assert re.search(finished, html)


def test_job_topic_resolver_scopes_by_organization(owner, stranger, submit):
    from missionops.live import TopicRefused, groups_for_subscription

    job = submit()
    assert groups_for_subscription(owner, f"job.{job.pk}") == [f"o{job.organization_id}.job.{job.pk}"]
    for user, topic in ((stranger, f"job.{job.pk}"), (owner, "job.abc")):
        try:
            groups_for_subscription(user, topic)
        except TopicRefused:
            continue
        raise AssertionError(f"{topic} not refused")


def test_operator_uploads_a_tile_input_on_the_page_and_sees_it_listed(client, operator, viewer, stranger):
    import io

    import numpy as np

    from jobs.models import TileInput

    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.full((3, 5), 0.2) for name in ("blue", "green", "red", "nir")})
    buffer.seek(0)
    buffer.name = "meadow.npz"
    response = login(client, operator).post("/jobs/tile-inputs/", {"file": buffer}, follow=True)
    made = TileInput.objects.get()
    html = response.content.decode()
    assert (
        made.name == "meadow" and f'id="tile-input-{made.pk}"' in html and f"{{&quot;input&quot;: {made.pk}}}" in html
    )
    bad = client.post("/jobs/tile-inputs/", {"file": io.BytesIO(b"nope"), "scale": "x"}, follow=True)
    assert "scale: scale must be a number" in bad.content.decode() and TileInput.objects.count() == 1
    client.logout()
    assert login(client, viewer).post("/jobs/tile-inputs/", {}).status_code == 403
    assert 'action="/jobs/tile-inputs/"' not in client.get("/jobs/").content.decode()
    client.logout()
    assert f'id="tile-input-{made.pk}"' not in login(client, stranger).get("/jobs/").content.decode()


def test_admin_edits_only_what_needs_no_validation(admin_client, submit):
    """Footprint, params, kind, organization and state change only through the services (which
    validate them and keep the bbox columns in step); the admin edits name, priority, attempts."""
    from django.forms.models import model_to_dict

    from jobs.models import Job

    job = submit(kind="tile", name="Alps tile")
    form = {k: v for k, v in model_to_dict(job).items() if v is not None}
    form.update(
        name="renamed",
        priority=7,
        max_attempts=5,
        kind="noop",
        footprint='{"type": "Point", "coordinates": [1, 2]}',
        params='{"size_px": 99999}',
    )
    inlines = ("logs", "artifacts")
    form.update({f"{inline}-{key}": "0" for inline in inlines for key in ("TOTAL_FORMS", "INITIAL_FORMS")})
    page = admin_client.post(f"/admin/jobs/job/{job.pk}/change/", form)
    assert page.status_code == 302, page.content.decode()[:2000]
    saved = Job.objects.get(pk=job.pk)
    assert (saved.name, saved.priority, saved.max_attempts) == ("renamed", 7, 5)
    assert saved.kind == "tile" and saved.footprint == job.footprint and saved.params == job.params
    assert (saved.bbox_west, saved.bbox_north) == (job.bbox_west, job.bbox_north)
    assert admin_client.get("/admin/jobs/job/add/").status_code == 403
    assert admin_client.get(f"/admin/jobs/job/{job.pk}/change/").status_code == 200


def test_result_display_takes_any_json_a_job_may_have_stored():
    from jobs.views import result_display

    assert result_display(None)["result_json"] == "" and result_display([1, 2])["result_json"] == "[\n  1,\n  2\n]"
    odd = result_display({"ok": True, "none": None, "big": 123456.789, "n": 1234567, "nested": {"a": 1}})
    assert odd["result_rows"] == [("big", "123457"), ("n", "1234567"), ("none", "—"), ("ok", "true")]
    for counts in ([], [1] * 1000, [-5, 3], [True, False], [0.5, 1.5]):  # not drawn: only JSON shows them
        assert result_display({"ndvi_histogram": counts})["histogram"] is None
    bars = result_display({"ndvi_histogram": [0] * 200})["histogram"]["bars"]  # all empty: flat, valid bars
    assert len(bars) == 200 and all(bar["w"] > 0 and bar["h"] == 0 for bar in bars)
