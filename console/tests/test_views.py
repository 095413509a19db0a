import pytest
from django.urls import reverse


def test_landing_page_is_the_overview(client, owner, sc_a):
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="tile-' + str(sc_a.pk) + '"' in body and "SC-001" in body
    assert 'aria-current="page">Overview' in body and 'id="utc-clock"' in body


def test_tiles_partial_has_no_page_chrome(client, owner, sc_a):
    client.force_login(owner)
    body = client.get(reverse("overview") + "?tiles=1").content.decode()
    assert "SC-001" in body and "<html" not in body


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_every_role_sees_the_overview(client, request, role, sc_a):
    client.force_login(request.getfixturevalue(role))
    assert "SC-001" in client.get("/").content.decode()


def test_stranger_sees_no_other_organizations_tile(client, stranger, sc_a):
    client.force_login(stranger)
    body = client.get("/").content.decode()
    assert "SC-001" not in body and "No spacecraft yet" in body


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
