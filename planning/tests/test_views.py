from datetime import timedelta

from django.utils import timezone

from planning import services
from planning.models import ImagingRequest


def _login(client, user):
    client.force_login(user)


def test_requests_page_lists_and_creates(client, operator, template_a, org_a):
    _login(client, operator)
    page = client.get("/planning/")
    assert page.status_code == 200
    assert b"planning-map" in page.content and b"New imaging request" in page.content
    start = timezone.now()
    response = client.post(
        "/planning/",
        {
            "organization": org_a.pk,
            "name": "Vesuvius",
            "target": '{"type": "Point", "coordinates": [14.426, 40.821]}',
            "priority": 5,
            "earliest_start": start.strftime("%Y-%m-%d %H:%M:%S"),
            "deadline": (start + timedelta(hours=30)).strftime("%Y-%m-%d %H:%M:%S"),
            "min_elevation_deg": 60,
            "min_sun_elevation_deg": 10,
            "volume_gbit": 2.5,
            "template": template_a.pk,
        },
    )
    assert response.status_code == 302
    request = ImagingRequest.objects.get(name="Vesuvius")
    assert request.volume_bits == 2_500_000_000 and request.created_by == operator
    assert b"Vesuvius" in client.get("/planning/").content


def test_form_shows_the_services_refusal(client, operator, template_a, org_a):
    _login(client, operator)
    start = timezone.now()
    response = client.post(
        "/planning/",
        {
            "organization": org_a.pk,
            "name": "Open ring",
            "target": '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}',
            "priority": 5,
            "earliest_start": start.strftime("%Y-%m-%d %H:%M:%S"),
            "deadline": (start + timedelta(hours=30)).strftime("%Y-%m-%d %H:%M:%S"),
            "min_elevation_deg": 60,
            "volume_gbit": 1,
            "template": template_a.pk,
        },
    )
    assert response.status_code == 200
    assert b"not closed" in response.content
    assert not ImagingRequest.objects.exists()


def test_viewer_sees_no_form_and_stranger_sees_nothing(client, viewer, stranger, make_request):
    make_request(10.0, 20.0, name="Secret target")
    _login(client, viewer)
    page = client.get("/planning/")
    assert b"Secret target" in page.content and b"operator or admin role" in page.content
    client.post("/planning/", {"name": "sneaky", "target": '{"type": "Point", "coordinates": [0, 0]}'})
    assert not ImagingRequest.objects.filter(name="sneaky").exists()
    client.logout()
    _login(client, stranger)
    assert b"Secret target" not in client.get("/planning/").content


def test_plan_gantt(client, viewer, stranger, org_a, imaging, make_request):
    make_request(imaging["lat"], imaging["lon"], name="Gantt target")
    services.compute_plan(organization=org_a, horizon=timedelta(hours=12), time_limit_s=5)
    _login(client, viewer)
    page = client.get("/planning/plan/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "g-imaging" in html and "g-downlink" in html and "g-eclipse" in html
    assert "Gantt target" in html and "Under-track" in html
    client.logout()
    _login(client, stranger)
    assert "Gantt target" not in client.get("/planning/plan/").content.decode()


def test_pages_need_login(client):
    assert client.get("/planning/").status_code == 302
    assert client.get("/planning/plan/").status_code == 302
