import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from missionops.models import Event
from spacecraft.models import Document, DocumentVersion
from spacecraft.services import documents

PROCEDURE = """# Battery reconditioning procedure

1. Confirm battery temperature within limits.
2. Switch the battery charger to trickle mode.
3. Discharge the battery to 40 % and recharge the battery fully.
"""
NOTE = "Mission note: pass over Svalbard went well; battery looked fine."


@pytest.fixture
def corpus(org_a, operator, sc_a):
    return {
        "procedure": documents.create_document(
            organization=org_a,
            title="Battery reconditioning",
            category="procedure",
            body=PROCEDURE,
            spacecraft=sc_a,
            actor=operator,
        ),
        "note": documents.create_document(
            organization=org_a, title="Pass report 14", category="note", body=NOTE, actor=operator
        ),
        "other": documents.create_document(
            organization=org_a,
            title="Reaction wheel tuning",
            category="configuration",
            body="Gains for the ADCS loop.",
            actor=operator,
        ),
    }


def test_procedure_ranks_above_a_note_that_mentions_the_word_once(api, viewer, corpus):
    results = api(viewer).get("/api/v1/documents/", {"q": "battery"}).json()["results"]
    assert [r["title"] for r in results] == ["Battery reconditioning", "Pass report 14"]
    assert results[0]["rank"] > results[1]["rank"]
    assert "<mark>battery</mark>" in results[0]["snippet"].lower()


def test_filters_by_category_and_spacecraft(api, viewer, corpus, sc_a):
    client = api(viewer)
    assert [r["title"] for r in client.get("/api/v1/documents/", {"category": "note"}).json()["results"]] == [
        "Pass report 14"
    ]
    by_sc = client.get("/api/v1/documents/", {"spacecraft": str(sc_a.pk)}).json()["results"]
    assert [r["title"] for r in by_sc] == ["Battery reconditioning"]
    assert client.get("/api/v1/documents/", {"category": "poetry"}).json()["field"] == "category"
    assert client.get("/api/v1/documents/", {"spacecraft": "nope"}).json()["field"] == "spacecraft"


@pytest.mark.parametrize("params", [{}, {"q": "battery"}])
def test_list_reads_authors_in_a_constant_number_of_queries(
    api, viewer, operator, org_a, params, django_assert_max_num_queries
):
    def write(count):
        for _ in range(count):
            documents.create_document(
                organization=org_a, title="Battery log", category="note", body="battery fine", actor=operator
            )

    client = api(viewer)
    write(2)
    client.get("/api/v1/documents/", params)  # warm the per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/documents/", params)
    write(10)
    with django_assert_max_num_queries(len(few)):
        results = client.get("/api/v1/documents/", params).json()["results"]
    assert len(results) == 12 and {r["created_by"] for r in results} == {"operator"}


def test_versions_read_authors_in_a_constant_number_of_queries(
    api, viewer, operator, corpus, django_assert_max_num_queries
):
    client, note = api(viewer), corpus["note"]
    url = f"/api/v1/documents/{note.pk}/versions/"
    documents.edit_document(document=note, body="v2", actor=operator)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3, 13):
        documents.edit_document(document=note, body=f"v{n}", actor=operator)
    with django_assert_max_num_queries(len(few)):
        versions = client.get(url).json()
    assert [v["version"] for v in versions] == list(range(12, 0, -1))
    assert {v["created_by"] for v in versions} == {"operator"}


def test_markdown_is_rendered_and_scripts_are_escaped():
    html = documents.render_markdown("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **bold**")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html


def test_snippets_cannot_inject_markup(api, viewer, org_a, operator):
    documents.create_document(
        organization=org_a,
        title="Evil",
        category="note",
        actor=operator,
        body="battery <img src=x onerror=alert(1)> battery",
    )
    [result] = api(viewer).get("/api/v1/documents/", {"q": "battery"}).json()["results"]
    assert "<img" not in result["snippet"] and "&lt;img" in result["snippet"]


def test_edit_keeps_versions_and_publish_records_event(api, operator, corpus):
    doc = corpus["procedure"]
    client = api(operator)
    assert client.post(f"/api/v1/documents/{doc.pk}/publish/").json()["published_version"] == 1
    edited = client.patch(f"/api/v1/documents/{doc.pk}/", {"body": PROCEDURE + "\n4. Log the result."}, format="json")
    assert edited.status_code == 200
    assert edited.json()["version"] == 2 and edited.json()["state"] == "draft"
    assert edited.json()["published_version"] == 1
    published = client.post(f"/api/v1/documents/{doc.pk}/publish/").json()
    assert published["state"] == "published" and published["published_version"] == 2
    versions = client.get(f"/api/v1/documents/{doc.pk}/versions/").json()
    assert [(v["version"], v["published"]) for v in versions] == [(2, True), (1, True)]
    assert Event.objects.filter(kind="document.published", subject_id=str(doc.pk)).count() == 2
    assert client.post(f"/api/v1/documents/{doc.pk}/publish/").status_code == 409
    # the new text is searchable
    assert client.get("/api/v1/documents/", {"q": "log result"}).json()["results"][0]["id"] == doc.pk


def test_create_attach_and_download(api, operator, sc_a):
    client = api(operator)
    created = client.post(
        "/api/v1/documents/",
        {"title": "TM dictionary", "category": "telemetry", "body": "All parameters.", "spacecraft": str(sc_a.pk)},
        format="json",
    )
    assert created.status_code == 201, created.json()
    doc_id = created.json()["id"]
    upload = SimpleUploadedFile("dictionary.csv", b"name,units\nbus_voltage,V\n", content_type="text/csv")
    attached = client.post(f"/api/v1/documents/{doc_id}/attachments/", {"file": upload}, format="multipart")
    assert attached.status_code == 201 and attached.json()["size_bytes"] == 25
    download = client.get(attached.json()["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"name,units")


def test_bad_input_and_permissions(api, operator, viewer, stranger, corpus):
    doc = corpus["note"]
    bad = api(operator).post("/api/v1/documents/", {"title": "x", "category": "poetry"}, format="json")
    assert bad.status_code == 400 and "category" in bad.json()
    blank = api(operator).post("/api/v1/documents/", {"title": "  ", "category": "note"}, format="json")
    assert blank.status_code == 400
    assert Document.objects.count() == 3
    assert api(viewer).get(f"/api/v1/documents/{doc.pk}/").status_code == 200
    assert api(viewer).patch(f"/api/v1/documents/{doc.pk}/", {"body": "x"}, format="json").status_code == 403
    assert api(viewer).post(f"/api/v1/documents/{doc.pk}/publish/").status_code == 403
    assert api(viewer).post("/api/v1/documents/", {"title": "x", "category": "note"}, format="json").status_code == 403
    assert api(stranger).get(f"/api/v1/documents/{doc.pk}/").status_code == 404
    assert api(stranger).patch(f"/api/v1/documents/{doc.pk}/", {"body": "x"}, format="json").status_code == 404
    assert api(stranger).get("/api/v1/documents/", {"q": "battery"}).json()["results"] == []
    assert DocumentVersion.objects.filter(document=doc).count() == 1


def test_document_form_saves_an_attachment_with_the_version(client, operator, org_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from spacecraft.models import Document

    client.force_login(operator)
    upload = SimpleUploadedFile("procedure.txt", b"step 1", content_type="text/plain")
    response = client.post(
        "/documents/new/",
        {"title": "Safe mode recovery", "category": "procedure", "body": "# Steps", "attachment": upload},
    )
    document = Document.objects.get(title="Safe mode recovery")
    assert response.status_code == 302 and [a.name for a in document.attachments.all()] == ["procedure.txt"]


def test_a_refused_attachment_leaves_no_document_behind(client, operator, org_a, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from spacecraft.models import Document
    from spacecraft.services import documents

    monkeypatch.setattr(documents, "MAX_ATTACHMENT_BYTES", 4)  # the limit, made small
    client.force_login(operator)
    upload = SimpleUploadedFile("big.bin", b"0123456789")
    body = client.post(
        "/documents/new/", {"title": "Too big", "category": "procedure", "body": "", "attachment": upload}
    ).content.decode()
    assert 'id="id_attachment-error"' in body and "attachments are limited" in body
    assert not Document.objects.filter(title="Too big").exists()
