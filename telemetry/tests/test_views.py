def test_telemetry_index_and_page(client, viewer, sc_a, make_spacecraft, org_a):
    make_spacecraft(org_a, "SC-002")
    client.force_login(viewer)
    index = client.get("/telemetry/")
    assert index.status_code == 200 and b"SC-002" in index.content
    page = client.get(f"/telemetry/{sc_a.pk}/")
    assert page.status_code == 200
    assert b"battery_soc" in page.content and b"js/telemetry.js" in page.content


def test_page_of_other_organization_is_404(client, stranger, sc_a):
    client.force_login(stranger)
    assert client.get(f"/telemetry/{sc_a.pk}/").status_code == 404


def test_anonymous_is_sent_to_login(client, sc_a):
    assert client.get(f"/telemetry/{sc_a.pk}/").status_code == 302
