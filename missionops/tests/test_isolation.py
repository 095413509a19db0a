"""Isolation proven on every route: walk every operation of the OpenAPI schema as another
organization's admin (session and API key) and as a viewer, against an organization full of demo
data. Nothing of organization A may be read or written from B; viewers may not operate."""

import json
import re
import uuid
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from missionops import live
from missionops.asgi import application
from missionops.models import Event, Organization
from missionops.services import apikeys, create_organization, set_membership, webhooks
from spacecraft import services as spacecraft_services
from spacecraft.models import Spacecraft

pytestmark = pytest.mark.slow
UNSAFE = ("post", "put", "patch", "delete")
# Viewer writes that are allowed on purpose (none today: a viewer reads, that is all).
VIEWER_MAY_WRITE: set[tuple[str, str]] = set()


@pytest.fixture
def world(django_db_blocker, transactional_db):
    call_command("seed_demo", "--minutes", "5", stdout=StringIO(), stderr=StringIO())
    org_a = Organization.objects.get(slug="demo")
    users = get_user_model().objects
    owner, viewer, operator = users.get(username="demo"), users.get(username="viewer"), users.get(username="operator")
    sc = Spacecraft.objects.filter(organization=org_a).order_by("designation").first()
    spacecraft_services.create_command(spacecraft=sc, name="ping", actor=operator, release_mode="next_contact")
    spacecraft_services.create_document(
        organization=org_a, title="Secret procedure", category="procedure", body="alpha", actor=owner
    )
    webhooks.create_webhook(
        organization=org_a, name="a-hook", url="http://127.0.0.1:9/x", event_kinds=["*"], actor=owner
    )
    apikeys.create_api_key(organization=org_a, name="a-key", scopes=["read"], actor=owner)
    org_b = create_organization(name="Org B", slug="org-b")
    stranger = users.create_user(username="stranger", password="x-strong-password")
    set_membership(organization=org_b, user=stranger, role="admin")
    _, b_key = apikeys.create_api_key(organization=org_b, name="b-key", scopes=["read", "ingest", "operate", "admin"])
    return {"org_a": org_a, "owner": owner, "viewer": viewer, "stranger": stranger, "b_key": b_key, "sc": sc}


def client_for(user=None, key=None):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def schema_operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", *UNSAFE):
                yield path, method


def results(body):
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    return body if isinstance(body, list) else []


def first_id(owner_client, collection: str, cache: dict):
    """An id of organization A's objects in `collection` (as its owner sees them), or a random one."""
    if collection not in cache:
        response = owner_client.get(collection)
        items = results(response.json()) if response.status_code == 200 else []
        ident = next(
            (
                str(i.get("id", i.get("slug", "")))
                for i in items
                if isinstance(i, dict) and (i.get("id") or i.get("slug"))
            ),
            None,
        )
        cache[collection] = ident or str(uuid.uuid4())
    return cache[collection]


def concrete(path: str, owner_client, cache) -> str:
    params = re.findall(r"\{(\w+)\}", path)
    if not params:
        return path
    collection = path[: path.index("{")]
    url = path.replace("{" + params[0] + "}", first_id(owner_client, collection, cache), 1)
    for extra in params[1:]:
        url = url.replace("{" + extra + "}", "1")
    return url


def a_identifiers(world, owner_client, cache) -> set[str]:
    """Strings that only organization A's data contains."""
    idents = {str(sc.pk) for sc in Spacecraft.objects.filter(organization=world["org_a"])}
    idents |= {v for v in cache.values() if len(v) > 8}
    idents |= {"Secret procedure", "a-hook", "a-key", "Demo Space Agency"}
    return idents


def test_another_organization_reads_and_writes_nothing_on_any_route(world):
    owner = client_for(world["owner"])
    cache: dict = {}
    operations = list(schema_operations(owner))
    assert len(operations) > 40  # every app's API is in the schema
    urls = [(path, method, concrete(path, owner, cache)) for path, method in operations]
    secrets = a_identifiers(world, owner, cache)
    events_before = Event.objects.filter(organization=world["org_a"]).count()
    sc_state = Spacecraft.objects.filter(organization=world["org_a"]).values_list("pk", "mode", "name")
    before = sorted(sc_state)
    for label, outsider in (
        ("session user", client_for(world["stranger"])),
        ("API key", client_for(key=world["b_key"])),
    ):
        for path, method, url in urls:
            body = {"spacecraft": str(world["sc"].pk)} if method in UNSAFE else None
            if method == "get" and "{" not in path:
                url = f"{url}?spacecraft={world['sc'].pk}"  # try to reach A's data by a filter, too
            response = getattr(outsider, method)(url, body, format="json")
            text = (
                response.content.decode(errors="replace")
                if not getattr(response, "streaming", False)
                else (b"".join(response.streaming_content).decode(errors="replace"))
            )
            sent = url + json.dumps(body)
            leaked = [s for s in secrets if s in text and s not in sent]  # echoing the caller's own input is no leak
            assert not leaked, f"{label} {method.upper()} {url} leaked {leaked[:3]} ({response.status_code})"
            if "{" in path:
                assert response.status_code in (400, 401, 403, 404, 405), (
                    f"{label} {method.upper()} {url}: {response.status_code}"
                )
                if method == "get":
                    assert response.status_code in (403, 404), f"{label} GET {url}: {response.status_code}"
    assert Event.objects.filter(organization=world["org_a"]).count() == events_before
    assert sorted(sc_state) == before


def test_viewers_cannot_operate_on_any_route(world):
    owner, viewer = client_for(world["owner"]), client_for(world["viewer"])
    cache: dict = {}
    events_before = Event.objects.filter(organization=world["org_a"]).count()
    for path, method in schema_operations(owner):
        if method not in UNSAFE or (path, method) in VIEWER_MAY_WRITE:
            continue
        url = concrete(path, owner, cache)
        body = {"spacecraft": str(world["sc"].pk), "name": "ping", "parameters": {}}
        response = getattr(viewer, method)(url, body, format="json")
        assert not 200 <= response.status_code < 300, f"viewer {method.upper()} {url}: {response.status_code}"
    assert Event.objects.filter(organization=world["org_a"]).count() == events_before


@pytest.mark.asyncio
async def test_another_organization_cannot_subscribe_to_any_object_topic(world):
    token = (await sync_to_async(Token.objects.get_or_create)(user=world["stranger"]))[0].key
    owner = await sync_to_async(client_for)(world["owner"])
    cache: dict = {}
    topics = [f"sc.{world['sc'].pk}"]
    for prefix in live._object_topics:
        if prefix != "sc":
            collection = {"job": "/api/v1/jobs/"}.get(prefix)
            ident = await sync_to_async(first_id)(owner, collection, cache) if collection else "1"
            topics.append(f"{prefix}.{ident}")
    communicator = WebsocketCommunicator(application, f"/ws/live/?token={token}")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()
    await communicator.send_json_to({"action": "subscribe", "topics": topics})
    replies = [await communicator.receive_json_from(timeout=5) for _ in topics]
    assert all(reply["type"] == "refused" for reply in replies), json.dumps(replies)
    await communicator.disconnect()


@pytest.fixture
def org_a_objects(org_a, make_spacecraft):
    """One object of org A for each foreign-key filter of the list endpoints."""
    from jobs.models import JobTemplate
    from orbits.services import create_station
    from spacecraft.models import Constellation
    from telescopes.models import AlpacaDevice, Observatory

    observatory = Observatory.objects.create(organization=org_a, name="Obs", latitude_deg=37.9, longitude_deg=-75.5)
    return {
        "observatory": observatory.pk,
        "device": AlpacaDevice.objects.create(observatory=observatory, device_type="telescope", host="h", port=1).pk,
        "camera": AlpacaDevice.objects.create(observatory=observatory, device_type="camera", host="h", port=2).pk,
        "spacecraft": make_spacecraft(org_a, "SC-LEO").pk,
        "constellation": Constellation.objects.create(organization=org_a, name="Walker").pk,
        "station": create_station(
            organization=org_a, name="Wallops", latitude_deg=37.9, longitude_deg=-75.5, altitude_m=0
        ).pk,
        "template": JobTemplate.objects.create(organization=org_a, name="nightly", kind="noop").pk,
    }


@pytest.mark.parametrize(
    "path,field",
    [
        ("/api/v1/alpaca-devices/", "observatory"),
        ("/api/v1/telescope-operations/", "device"),
        ("/api/v1/exposures/", "camera"),
        ("/api/v1/observation-sessions/", "observatory"),
        ("/api/v1/observation-sessions/", "spacecraft"),
        ("/api/v1/spacecraft/", "constellation"),
        ("/api/v1/passes/", "station"),
        ("/api/v1/tles/", "spacecraft"),
        ("/api/v1/jobs/", "template"),
    ],
)
def test_a_filter_answers_another_organizations_id_as_it_answers_an_unknown_one(
    api, stranger, org_a_objects, path, field
):
    """Filtered by id alone: a filter that first looked the id up among every organization's rows
    answered 400 for an unknown id and 200 for another organization's."""
    theirs = org_a_objects[field]
    unknown = uuid.uuid4() if isinstance(theirs, uuid.UUID) else 999_999_999
    client = api(stranger)
    answers = [client.get(path, {field: value}) for value in (theirs, unknown)]
    assert [a.status_code for a in answers] == [200, 200], [a.content[:200] for a in answers]
    assert answers[0].json() == answers[1].json()
