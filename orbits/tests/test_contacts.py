"""Contact plans of the passes an operator picked: through the service, the REST API and the
passes page; every refusal writes nothing and names the pass."""

from datetime import timedelta

import pytest
from django.utils import timezone

from missionops.exceptions import DomainError
from missionops.models import Event
from orbits import services
from orbits.models import Contact, ContactPlan

from .conftest import stored_pass

pytestmark = pytest.mark.django_db


@pytest.fixture
def station_b(org_a):
    return services.create_station(
        organization=org_a, name="Svalbard", latitude_deg=78.23, longitude_deg=15.41, min_elevation_deg=5
    )


@pytest.fixture
def two_sc(make_spacecraft, org_a):
    return make_spacecraft(org_a, "SC-ONE"), make_spacecraft(org_a, "SC-TWO")


@pytest.fixture
def soon():
    return timezone.now().replace(microsecond=0) + timedelta(hours=1)


def test_a_plan_of_the_picked_passes_books_each_one_whole(two_sc, station_a, station_b, soon, operator):
    one, two = two_sc
    first = stored_pass(one, station_a, soon)
    second = stored_pass(two, station_a, soon + timedelta(minutes=10))  # touches the first: fine
    third = stored_pass(one, station_b, soon + timedelta(minutes=30), minutes=5)
    stored_pass(two, station_b, soon + timedelta(hours=2))  # not picked
    plan = services.create_contact_plan_from_passes(
        organization=one.organization, pass_ids=[third.pk, first.pk, second.pk], actor=operator
    )
    contacts = list(plan.contacts.order_by("start"))
    assert [c.pass_ref_id for c in contacts] == [first.pk, second.pk, third.pk]
    assert [(c.start, c.end) for c in contacts] == [(p.aos, p.los) for p in (first, second, third)]
    assert contacts[0].volume_bits == 600 * station_a.downlink_rate_bps
    assert (plan.start, plan.end, plan.unserved, plan.created_by) == (first.aos, third.los, [], operator)
    assert plan.requests[str(one.pk)]["passes"] == [first.pk, third.pk]
    event = Event.objects.get(kind="contact_plan.created")
    assert event.payload["contacts"] == 3 and event.payload["picked_passes"] == [third.pk, first.pk, second.pk]


@pytest.mark.parametrize(
    ("second_sc", "second_station", "says"),
    [("two", "a", "on the same station"), ("one", "b", "one spacecraft, two stations at once")],
)
def test_overlapping_picks_are_refused_naming_the_pass(
    two_sc, station_a, station_b, soon, second_sc, second_station, says
):
    one, two = two_sc
    first = stored_pass(one, station_a, soon)
    clash = stored_pass(
        {"one": one, "two": two}[second_sc],
        {"a": station_a, "b": station_b}[second_station],
        soon + timedelta(minutes=5),
    )
    with pytest.raises(DomainError) as refused:
        services.create_contact_plan_from_passes(organization=one.organization, pass_ids=[first.pk, clash.pk])
    assert refused.value.field == "passes" and f"pass {clash.pk} (" in refused.value.message
    assert says in refused.value.message
    assert not ContactPlan.objects.exists() and not Contact.objects.exists()
    assert not Event.objects.filter(kind="contact_plan.created").exists()


def test_a_pass_of_another_organization_or_gone_refuses_the_whole_plan(two_sc, station_a, soon, make_spacecraft, org_b):
    one, _ = two_sc
    ours = stored_pass(one, station_a, soon)
    theirs_station = services.create_station(organization=org_b, name="Kourou", latitude_deg=5.2, longitude_deg=-52.8)
    theirs = stored_pass(make_spacecraft(org_b, "SC-B"), theirs_station, soon + timedelta(hours=1))
    for ids, named in (([ours.pk, theirs.pk], theirs.pk), ([ours.pk, 10**12], 10**12), ([ours.pk, ours.pk], ours.pk)):
        with pytest.raises(DomainError) as refused:
            services.create_contact_plan_from_passes(organization=one.organization, pass_ids=ids)
        assert refused.value.field == "passes" and f"pass {named}" in refused.value.message
    past = stored_pass(one, station_a, timezone.now() - timedelta(hours=1))
    with pytest.raises(DomainError, match=f"pass {past.pk} .* is over"):
        services.create_contact_plan_from_passes(organization=one.organization, pass_ids=[ours.pk, past.pk])
    with pytest.raises(DomainError, match="pick at least one pass"):
        services.create_contact_plan_from_passes(organization=one.organization, pass_ids=[])
    assert not ContactPlan.objects.exists() and not Contact.objects.exists()


def test_api_makes_a_plan_of_picked_passes(api, operator, viewer, stranger, two_sc, station_a, soon):
    one, two = two_sc
    first, second = stored_pass(one, station_a, soon), stored_pass(two, station_a, soon + timedelta(minutes=20))
    url = "/api/v1/contact-plans/from-passes/"
    assert api(viewer).post(url, {"passes": [first.pk]}, format="json").status_code == 403
    response = api(operator).post(url, {"passes": [first.pk, second.pk]}, format="json")
    assert response.status_code == 201, response.data
    assert [c["pass_ref"] for c in response.data["contacts"]] == [first.pk, second.pk]
    assert [c["designation"] for c in response.data["contacts"]] == ["SC-ONE", "SC-TWO"]
    assert api(operator).get(f"/api/v1/contact-plans/{response.data['id']}/").status_code == 200
    assert api(stranger).get(f"/api/v1/contact-plans/{response.data['id']}/").status_code == 404
    # Another organization's passes do not exist for the stranger; naming org_a is no way round.
    refused = api(stranger).post(url, {"passes": [first.pk]}, format="json")
    assert refused.status_code == 400 and refused.data["field"] == "passes" and str(first.pk) in refused.data["detail"]
    named = api(stranger).post(url, {"passes": [first.pk], "organization": one.organization.slug}, format="json")
    assert named.status_code == 400 and named.data["field"] == "organization"
    clash = stored_pass(two, station_a, soon + timedelta(minutes=5))
    overlapping = api(operator).post(url, {"passes": [first.pk, clash.pk]}, format="json")
    assert overlapping.status_code == 400 and f"pass {clash.pk} (" in overlapping.data["detail"]
    for body in ({"passes": []}, {"passes": ["x"]}, {}, {"passes": [0]}):
        bad = api(operator).post(url, body, format="json")
        assert bad.status_code == 400 and bad.data["field"].startswith("passes"), (body, bad.data)
    assert ContactPlan.objects.count() == 1


def test_the_schema_documents_the_picked_passes_endpoint(api, operator):
    schema = api(operator).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/contact-plans/from-passes/"]["post"]
    assert operation["operationId"] == "v1_contact_plans_from_passes_create"
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][body]["required"] == ["passes"]


def test_passes_page_posts_the_picks_and_shows_a_refusal_with_the_picks_kept(
    client, operator, viewer, two_sc, station_a, soon
):
    one, two = two_sc
    first, clash = stored_pass(one, station_a, soon), stored_pass(two, station_a, soon + timedelta(minutes=5))
    client.force_login(viewer)
    assert b'id="pick-panel"' not in client.get("/orbits/passes/").content
    assert client.post("/orbits/passes/plan/", {"passes": [first.pk]}).status_code == 403
    client.force_login(operator)
    assert b'id="pick-panel"' in client.get("/orbits/passes/").content
    refused = client.post("/orbits/passes/plan/", {"passes": [first.pk, clash.pk, 10**12]})
    body = refused.content.decode()
    assert refused.status_code == 200 and 'id="pick-error"' in body and "no pass 1000000000000" in body
    picked = refused.context["picked"]
    assert [p["id"] for p in picked] == [first.pk, clash.pk, 10**12] and picked[2] == {"id": 10**12, "missing": True}
    assert picked[0]["station_name"] == station_a.name and picked[1]["designation"] == "SC-TWO"
    overlapping = client.post("/orbits/passes/plan/", {"passes": [first.pk, clash.pk]}).content.decode()
    assert f"pass {clash.pk} (SC-TWO over {station_a.name}" in overlapping
    assert "“x” is not a pass id" in client.post("/orbits/passes/plan/", {"passes": ["x"]}).content.decode()
    assert not ContactPlan.objects.exists()
    made = client.post("/orbits/passes/plan/", {"passes": [first.pk]})
    assert made.status_code == 302 and made["Location"] == "/orbits/passes/"
    assert Contact.objects.get().pass_ref_id == first.pk


def test_a_new_plan_goes_live_as_the_api_answers_it(
    api, operator, two_sc, station_a, soon, live_sent, django_capture_on_commit_callbacks
):
    one, two = two_sc
    first, second = stored_pass(one, station_a, soon), stored_pass(two, station_a, soon + timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        response = api(operator).post(
            "/api/v1/contact-plans/from-passes/", {"passes": [first.pk, second.pk]}, format="json"
        )
    assert response.status_code == 201, response.data
    [message] = [m for topic, m in live_sent if topic == "passes" and m["kind"] == "plan"]
    assert message == {
        "kind": "plan",
        "data": api(operator).get(f"/api/v1/contact-plans/{response.data['id']}/").json(),
    }
    assert [c["designation"] for c in message["data"]["contacts"]] == ["SC-ONE", "SC-TWO"]
