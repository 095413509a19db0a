"""API keys, throttling, failed-login lockout and the security audit trail."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework.test import APIClient

from missionops.asgi import application
from missionops.models import ApiKey, Event
from missionops.services import apikeys
from missionops.testing import PASSWORD


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def issue(org_a, owner):
    def make(*scopes, **extra):
        return apikeys.create_api_key(organization=org_a, name="ci", scopes=list(scopes), actor=owner, **extra)[1]

    return make


def test_key_is_shown_once_and_stored_hashed(api, owner):
    response = api(owner).post(
        "/api/v1/api-keys/", {"name": "ground-station", "scopes": ["read", "ingest"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert key.startswith("mo_") and body["scopes"] == ["read", "ingest"]
    row = ApiKey.objects.get(prefix=body["prefix"])
    assert key not in row.key_hash and row.key_hash == apikeys.hash_key(key)
    listed = api(owner).get("/api/v1/api-keys/").json()["results"]
    assert "key" not in listed[0] and listed[0]["prefix"] == body["prefix"]
    assert Event.objects.filter(kind="security.key.created", subject_id=str(row.pk)).exists()


def test_scopes_limit_what_a_key_may_do(issue, sc_a):
    reader = key_client(issue("read"))
    assert reader.get("/api/v1/spacecraft/").json()["results"][0]["designation"] == "SC-001"
    denied = reader.post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"mode": "safe"}, format="json")
    assert denied.status_code == 403 and "'operate' scope" in denied.json()["detail"]
    snapshot = [{"spacecraft": "SC-001", "timestamp": "2026-11-27T10:00:00Z", "parameters": {"bus_voltage": 28.1}}]
    assert reader.post("/api/v1/telemetry/", snapshot, format="json").status_code == 403
    ingester = key_client(issue("ingest"))
    assert ingester.post("/api/v1/telemetry/", snapshot, format="json").status_code in (200, 201)
    assert ingester.post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"mode": "safe"}, format="json").status_code == 403
    assert ingester.get("/api/v1/spacecraft/").status_code == 403  # no read scope
    operator = key_client(issue("read", "operate"))
    assert operator.post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"mode": "safe"}, format="json").status_code == 200
    assert operator.get("/api/v1/api-keys/").status_code == 403  # managing keys needs admin


def test_key_never_reaches_another_organization(issue, make_spacecraft, org_b):
    theirs = make_spacecraft(org_b, "SC-900")
    client = key_client(issue("read", "operate"))
    assert client.get(f"/api/v1/spacecraft/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/spacecraft/{theirs.pk}/state/", {"mode": "safe"}, format="json").status_code == 404


def test_expiry_rotation_grace_and_revocation(org_a, owner, sc_a):
    key, old_text = apikeys.create_api_key(organization=org_a, name="ci", scopes=["read"], actor=owner)
    assert key_client(old_text).get("/api/v1/spacecraft/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    new_key, new_text = apikeys.rotate_api_key(key=key, actor=owner, grace=timedelta(hours=1))
    assert key_client(old_text).get("/api/v1/spacecraft/").status_code == 200  # grace period
    assert key_client(new_text).get("/api/v1/spacecraft/").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = key_client(old_text).get("/api/v1/spacecraft/")
    assert expired.status_code == 401 and "expired or revoked" in expired.json()["detail"]
    apikeys.revoke_api_key(key=new_key, actor=owner)
    assert key_client(new_text).get("/api/v1/spacecraft/").status_code == 401
    kinds = set(Event.objects.filter(kind__startswith="security.key.").values_list("kind", flat=True))
    assert kinds == {"security.key.created", "security.key.rotated", "security.key.revoked"}


def test_key_management_api(api, owner, viewer, stranger):
    client = api(owner)
    key_id = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["read"]}, format="json").json()["id"]
    rotated = client.post(f"/api/v1/api-keys/{key_id}/rotate/", {"grace_hours": 0.5}, format="json")
    assert rotated.status_code == 201 and rotated.json()["key"].startswith("mo_")
    assert client.post(f"/api/v1/api-keys/{key_id}/rotate/").status_code == 409
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke/").json()["revoked_at"]
    bad = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["godmode"]}, format="json")
    assert bad.status_code == 400 and "scopes" in bad.json()
    assert api(stranger).get(f"/api/v1/api-keys/{key_id}/").status_code == 404
    assert api(viewer).get(f"/api/v1/api-keys/{key_id}/").status_code == 404
    assert api(viewer).post("/api/v1/api-keys/", {"name": "x", "scopes": ["read"]}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_keys_open_sockets_within_their_scopes(org_a, owner, sc_a):
    async def connect(path, key):
        communicator = WebsocketCommunicator(application, f"{path}?token={key}")
        return communicator, *(await communicator.connect())

    reader = (await sync_to_async(apikeys.create_api_key)(organization=org_a, name="r", scopes=["read"], actor=owner))[
        1
    ]
    ingester = (
        await sync_to_async(apikeys.create_api_key)(organization=org_a, name="i", scopes=["ingest"], actor=owner)
    )[1]
    live, ok, _ = await connect("/ws/live/", reader)
    assert ok
    await live.receive_json_from()
    await live.send_json_to({"action": "subscribe", "topics": [f"sc.{sc_a.pk}"]})
    assert (await live.receive_json_from())["type"] == "subscribed"
    await live.disconnect()
    _, ok, code = await connect("/ws/ingest/", reader)
    assert not ok and code == 4403
    ingest, ok, _ = await connect("/ws/ingest/", ingester)
    assert ok
    await ingest.disconnect()
    _, ok, code = await connect("/ws/live/", ingester)
    assert not ok and code == 4403


def test_rotating_a_key_keeps_its_expiry_even_inside_the_grace(org_a, owner):
    soon = timezone.now() + timedelta(hours=2)
    key, _ = apikeys.create_api_key(organization=org_a, name="short", scopes=["read"], actor=owner, expires_at=soon)
    new_key, _ = apikeys.rotate_api_key(key=key, actor=owner, grace=timedelta(hours=24))
    assert new_key.expires_at == soon  # was None: rotation made a short-lived key permanent
    key.refresh_from_db()
    assert key.expires_at == soon


def test_a_key_does_not_outlive_its_creators_role(api, org_a, owner, operator, sc_a):
    from missionops.services import remove_membership, set_membership

    set_membership(organization=org_a, user=operator, role="admin")
    admin_key = apikeys.create_api_key(organization=org_a, name="a", scopes=["admin"], actor=operator)[1]
    operate_key = apikeys.create_api_key(organization=org_a, name="o", scopes=["read", "operate"], actor=operator)[1]
    read_key = apikeys.create_api_key(organization=org_a, name="r", scopes=["read"], actor=operator)[1]
    set_membership(organization=org_a, user=operator, role="operator", actor=owner)  # demoted
    assert key_client(admin_key).get("/api/v1/spacecraft/").status_code == 401
    assert (
        key_client(operate_key)
        .post(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"mode": "safe"}, format="json")
        .status_code
        == 200
    )
    revoked = Event.objects.get(kind="security.key.revoked")
    assert revoked.payload["reason"] == "its creator operator is now operator" and revoked.actor == owner
    remove_membership(membership=operator.memberships.get(organization=org_a), actor=owner)  # gone
    assert key_client(operate_key).get("/api/v1/spacecraft/").status_code == 401
    assert key_client(read_key).get("/api/v1/spacecraft/").status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_open_sockets_lose_what_a_revocation_or_removal_takes_away(org_a, owner, viewer, sc_a):
    from missionops.services import remove_membership

    async def connect(token):
        communicator = WebsocketCommunicator(application, f"/ws/live/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.receive_json_from()  # hello
        await communicator.send_json_to({"action": "subscribe", "topics": ["fleet"]})
        assert (await communicator.receive_json_from())["type"] == "subscribed"
        return communicator

    key, plaintext = await sync_to_async(apikeys.create_api_key)(
        organization=org_a, name="r", scopes=["read"], actor=owner
    )
    by_key = await connect(plaintext)
    await sync_to_async(apikeys.revoke_api_key)(key=key, actor=owner)
    assert (await by_key.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}

    from rest_framework.authtoken.models import Token

    token = (await sync_to_async(Token.objects.get_or_create)(user=viewer))[0].key
    by_viewer = await connect(token)
    membership = await sync_to_async(viewer.memberships.get)(organization=org_a)
    await sync_to_async(remove_membership)(membership=membership, actor=owner)
    refused = await by_viewer.receive_json_from(timeout=5)
    assert refused == {"type": "refused", "topic": "fleet", "reason": "not a member of any organization"}
    await by_viewer.disconnect()


def test_throttle_answers_429_with_retry_after(api, viewer, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "read": "3/min"})
    client = api(viewer)
    statuses = [client.get("/api/v1/spacecraft/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/spacecraft/")
    assert int(response["Retry-After"]) > 0


def test_failed_logins_lock_out_and_are_audited(client, viewer, owner):
    for _ in range(5):
        assert client.post("/login/", {"username": "viewer", "password": "wrong"}).status_code in (200, 429)
    locked = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert locked.status_code == 429  # the right password does not help while locked out
    assert Event.objects.filter(kind="security.login.failed").count() >= 5
    ok = client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert ok.status_code == 302
    assert Event.objects.filter(kind="security.login.succeeded", actor_repr="owner").exists()


def test_audit_trail_is_for_admins_only_and_immutable(api, owner, viewer, operator, sc_a, admin_client):
    api(operator).put(
        f"/api/v1/spacecraft/{sc_a.pk}/config/", {"parameters": {"v": {"subsystem": "power"}}}, format="json"
    )
    admin_kinds = {e["kind"] for e in api(owner).get("/api/v1/events/").json()["results"]}
    viewer_kinds = {e["kind"] for e in api(viewer).get("/api/v1/events/").json()["results"]}
    assert {"security.config.changed", "security.membership.created"} <= admin_kinds
    assert "config.changed" in viewer_kinds and not any(k.startswith("security.") for k in viewer_kinds)
    event = Event.objects.filter(kind="security.config.changed").first()
    assert admin_client.post(f"/admin/missionops/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert api(owner).delete(f"/api/v1/events/{event.pk}/").status_code == 405


def test_metrics_expose_domain_and_process_metrics_to_loopback_only(client, sc_a, api, operator, settings):
    snapshot = [{"spacecraft": "SC-001", "timestamp": "2026-11-27T10:00:00Z", "parameters": {"bus_voltage": 28.1}}]
    assert api(operator).post("/api/v1/telemetry/", snapshot, format="json").status_code in (200, 201)
    body = client.get("/metrics").content.decode()
    assert 'missionops_spacecraft{mode="nominal"} 1.0' in body
    assert "missionops_samples_ingested_total" in body and "missionops_ingest_duration_seconds_bucket" in body
    assert "missionops_celery_queue_depth" in body and "django_http_requests_total_by_method_total" in body
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_request_id_is_echoed(client, db):
    response = client.get("/health/", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
    assert len(client.get("/health/")["X-Request-ID"]) == 32


def test_api_keys_page_issues_shows_once_rotates_and_revokes(client, owner, viewer):
    client.force_login(owner)
    page = client.post("/api-keys/", {"action": "create", "name": "bridge", "scopes": ["ingest"]}).content.decode()
    key = ApiKey.objects.get(name="bridge")
    assert 'id="issued-key"' in page and f"mo_{key.prefix}_" in page
    assert 'id="issued-key"' not in client.get("/api-keys/").content.decode()
    rotated = client.post("/api-keys/", {"action": "rotate", "key": key.pk}).content.decode()
    assert 'id="issued-key"' in rotated and ApiKey.objects.count() == 2
    client.post("/api-keys/", {"action": "revoke", "key": ApiKey.objects.exclude(pk=key.pk).get().pk})
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 1
    for odd in ("abc", "²", "9" * 30):  # a key id the form never sends: no such key, not a 500
        assert client.post("/api-keys/", {"action": "revoke", "key": odd}).status_code == 404
    client.force_login(viewer)
    assert "Only organization admins" in client.get("/api-keys/").content.decode()
    assert client.post("/api-keys/", {"action": "create", "name": "x", "scopes": ["read"]}).status_code == 403


def test_the_key_list_reads_a_constant_number_of_queries(api, owner, org_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/api-keys/").status_code == 200
        return len(captured)

    client = api(owner)
    apikeys.create_api_key(organization=org_a, name="k0", scopes=["read"], actor=owner)
    one = queries()
    for n in range(5):
        apikeys.create_api_key(organization=org_a, name=f"k{n + 1}", scopes=["read"], actor=owner)
    assert queries() == one


def parallel(calls: int, request) -> list:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(lambda _: request(), range(calls)))


def http_status(request) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def limits_of_10(monkeypatch):
    """Read by the daphne the test starts (its environment)."""
    monkeypatch.setenv("THROTTLE_READ", "10/min")
    monkeypatch.setenv("LOGIN_FAILURE_LIMIT", "10")
    yield
    # The lockout these tests provoke lives in Redis for LOGIN_LOCKOUT_S: clear it, or every later
    # test of this run that signs in as the same user from 127.0.0.1 is refused with a 429.
    from django.core.cache import cache

    from missionops.cache_redis import cache_redis

    for key in cache_redis().scan_iter(match=cache.make_key("login:*")):
        cache_redis().delete(key)


@pytest.mark.slow
def test_32_parallel_requests_against_a_limit_of_10_pass_exactly_10(limits_of_10, live_server_daphne, viewer):
    import urllib.request

    from rest_framework.authtoken.models import Token

    token = Token.objects.get_or_create(user=viewer)[0].key
    statuses = parallel(
        32,
        lambda: http_status(
            urllib.request.Request(
                f"{live_server_daphne}/api/v1/spacecraft/", headers={"Authorization": f"Token {token}"}
            )
        ),
    )
    assert sorted(statuses).count(200) == 10 and statuses.count(429) == 22, statuses


@pytest.mark.slow
def test_32_parallel_sign_ins_check_exactly_10_passwords(limits_of_10, live_server_daphne, operator):
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{live_server_daphne}/login/", timeout=30).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode({"username": "operator", "password": "wrong", "csrfmiddlewaretoken": csrf}).encode()

    def attempt():
        request = urllib.request.Request(
            f"{live_server_daphne}/login/",
            data=body,
            headers={"Cookie": f"csrftoken={csrf}", "Referer": live_server_daphne},
        )
        return http_status(request)

    statuses = parallel(32, attempt)
    assert statuses.count(200) == 10 and statuses.count(429) == 22, statuses  # 200: the form, "didn't match"
