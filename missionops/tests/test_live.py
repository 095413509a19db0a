"""The live socket over the real Redis channel layer (channels' communicator, no in-memory layer)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from missionops.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def connect(user=None, token=None):
    path = "/ws/live/"
    if user is not None:
        token = (await sync_to_async(Token.objects.get_or_create)(user=user))[0].key
    if token:
        path += f"?token={token}"
    communicator = WebsocketCommunicator(application, path)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def subscribe(communicator, *topics):
    await communicator.send_json_to({"action": "subscribe", "topics": list(topics)})
    return [await communicator.receive_json_from(timeout=5) for _ in topics]


async def next_message(communicator, topic, where=lambda data: True):
    """The next message on `topic` that `where` accepts (messages the fixtures caused may still be
    on their way when a test subscribes: the sender batches for a few ms)."""
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "message" and message["topic"] == topic and where(message["data"]):
            return message["data"]


async def test_state_change_through_the_api_reaches_the_subscriber(api, operator, sc_a):
    communicator, connected, _ = await connect(operator)
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    assert await subscribe(communicator, f"sc.{sc_a.pk}", "fleet") == [
        {"type": "subscribed", "topic": f"sc.{sc_a.pk}"},
        {"type": "subscribed", "topic": "fleet"},
    ]
    client = await sync_to_async(api)(operator)
    response = await sync_to_async(client.post)(
        f"/api/v1/spacecraft/{sc_a.pk}/state/", {"battery_soc_pct": 14.0}, format="json"
    )
    assert response.status_code == 200

    def at_14(message):
        return message["kind"] == "state" and message["data"]["battery_soc_pct"] == 14.0

    data = (await next_message(communicator, f"sc.{sc_a.pk}", at_14))["data"]  # the spacecraft, as REST shows it
    assert data["mode"] == "safe"
    fleet = (await next_message(communicator, "fleet", at_14))["data"]
    assert fleet["id"] == str(sc_a.pk) and fleet["mode"] == "safe"
    await communicator.disconnect()


async def test_another_organizations_spacecraft_is_refused(stranger, sc_a):
    communicator, connected, _ = await connect(stranger)
    assert connected
    await communicator.receive_json_from()
    [reply] = await subscribe(communicator, f"sc.{sc_a.pk}")
    assert reply["type"] == "refused" and reply["topic"] == f"sc.{sc_a.pk}"
    [reply] = await subscribe(communicator, "sc.not-a-uuid")
    assert reply["type"] == "refused"
    [reply] = await subscribe(communicator, "secrets")
    assert reply == {"type": "refused", "topic": "secrets", "reason": "unknown topic 'secrets'"}
    await communicator.disconnect()


async def test_fleet_topic_never_carries_another_organizations_spacecraft(api, operator, stranger, sc_a):
    theirs, _, _ = await connect(stranger)
    await theirs.receive_json_from()
    await subscribe(theirs, "fleet")
    ours, _, _ = await connect(operator)
    await ours.receive_json_from()
    await subscribe(ours, "fleet")
    client = await sync_to_async(api)(operator)
    await sync_to_async(client.post)(f"/api/v1/spacecraft/{sc_a.pk}/state/", {"memory_used_pct": 50}, format="json")
    state = await next_message(ours, "fleet", lambda d: d["kind"] == "state" and d["data"]["memory_used_pct"] == 50)
    assert state["data"]["id"] == str(sc_a.pk)
    assert await theirs.receive_nothing(timeout=1)
    await ours.disconnect()
    await theirs.disconnect()


async def test_anonymous_and_bad_token_are_closed(db):
    communicator, connected, code = await connect()
    assert not connected and code == 4401
    communicator, connected, code = await connect(token="not-a-real-token")
    assert not connected and code == 4401


async def test_malformed_messages_get_errors_not_disconnects(operator):
    communicator, connected, _ = await connect(operator)
    await communicator.receive_json_from()
    await communicator.send_json_to({"action": "explode"})
    assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.send_json_to(["not", "an", "object"])
    assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    await communicator.disconnect()


async def test_foreign_browser_origin_is_rejected(operator):
    token = (await sync_to_async(Token.objects.get_or_create)(user=operator))[0].key
    communicator = WebsocketCommunicator(
        application, f"/ws/live/?token={token}", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_burst_arrives_whole_and_in_order_on_each_topic(operator, sc_a):
    """The sender batches what is queued into one Redis pipeline: nothing of a burst is lost or
    reordered, and a payload sent to two topics reaches both."""
    from missionops import live

    communicator, connected, _ = await connect(operator)
    assert connected
    await communicator.receive_json_from()
    await subscribe(communicator, "jobs", "events")
    organization_id = sc_a.organization_id

    def burst():
        for n in range(300):
            live.publish_many(("jobs", "events"), {"kind": "burst", "n": n}, organization=organization_id)
        live.flush()

    await sync_to_async(burst)()
    seen = {"jobs": [], "events": []}
    while len(seen["jobs"]) < 300 or len(seen["events"]) < 300:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "message" and message["data"].get("kind") == "burst":
            seen[message["topic"]].append(message["data"]["n"])
    assert seen == {"jobs": list(range(300)), "events": list(range(300))}
    await communicator.disconnect()


@pytest.mark.asyncio(loop_scope="function")
async def test_a_prefork_childs_messages_are_sent_before_it_exits():
    """Celery's prefork children end with os._exit (no atexit): missionops.celery flushes the live
    sender on worker_process_shutdown, which the child sends just before. Here a forked child
    publishes 50 messages and leaves exactly that way; a Redis subscriber gets all of them."""
    await sync_to_async(_prefork_child_round_trip, thread_sensitive=False)()


def _channel(group: str) -> str:
    """The Redis channel of a channel-layer group (the pub/sub layer's naming)."""
    from django.conf import settings

    return f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}__group__{group}"


def _subscribed(*groups):
    """A plain Redis subscriber to those groups' channels, its subscriptions confirmed."""
    import redis
    from django.conf import settings

    subscriber = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    subscriber.subscribe(*(_channel(g) for g in groups))
    for _ in groups:
        assert subscriber.get_message(timeout=2)["type"] == "subscribe"
    return subscriber


def _received(subscriber, timeout_s: float) -> list[dict]:
    """Every message until none comes for timeout_s; closes the subscriber."""
    received = []
    while (message := subscriber.get_message(timeout=timeout_s)) is not None:
        if message["type"] == "message":
            received.append(message)
    subscriber.close()
    return received


def _prefork_child_round_trip():
    import os

    from celery.concurrency.prefork import process_destructor

    from missionops import live

    subscriber = _subscribed(live.group_name(987654, "jobs"))
    pid = os.fork()
    if pid == 0:  # the child: publish, then exit the way billiard's pool worker does
        code = 1
        try:
            for n in range(50):
                live.publish("jobs", {"kind": "child", "n": n}, organization=987654)
            process_destructor(os.getpid(), 0)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    received = _received(subscriber, 2)
    assert len(received) == 50


async def test_the_sender_takes_channels_redis_host_forms_and_one_dead_shard_loses_only_its_own():
    await sync_to_async(_host_forms_and_dead_shard, thread_sensitive=False)()


def _host_forms_and_dead_shard():
    import redis
    from channels_redis.utils import _consistent_hash
    from django.conf import settings

    from missionops import live

    url = settings.REDIS_URL
    # The host forms channels_redis accepts: a URL with connection options, and keyword arguments.
    assert live._redis_client({"address": url, "socket_timeout": 5, "max_connections": 10}).ping()
    parsed = redis.connection.parse_url(url)
    assert live._redis_client({"host": parsed.get("host"), "port": parsed.get("port")}).ping()

    # Two shards, the first a port nothing listens on: the live shard's messages still go out.
    sender = live._Sender()
    sender.shards = [live._redis_client({"address": "redis://127.0.0.1:1"}), live._redis_client({"address": url})]
    sender.prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    groups = [live.group_name(424242, f"t{n}") for n in range(40)]
    to_live_shard = [g for g in groups if _consistent_hash(_channel(g), 2) == 1]
    assert to_live_shard and len(to_live_shard) < len(groups)  # both shards get some
    groups.sort(key=lambda g: g in to_live_shard)  # the dead shard's pipeline goes first
    subscriber = _subscribed(*to_live_shard)
    sender._publish([(g, {"type": "live.message", "topic": "t", "data": {"g": g}}) for g in groups])
    received = [m["channel"].decode().split("__group__")[1] for m in _received(subscriber, 1)]
    assert received == to_live_shard


async def test_a_deleted_job_leaves_the_queue_and_its_page(api, operator, owner, org_a):
    from jobs import services

    def finished_job():
        job = services.submit_job(organization=org_a, actor=owner, kind="noop", params={})
        return services.cancel_job(job=job, actor=owner)

    job = await sync_to_async(finished_job)()
    communicator, _, _ = await connect(operator)
    await communicator.receive_json_from()
    await subscribe(communicator, "jobs", f"job.{job.pk}")
    client = await sync_to_async(api)(operator)
    assert (await sync_to_async(client.delete)(f"/api/v1/jobs/{job.pk}/")).status_code == 204
    deleted = {"kind": "job.deleted", "data": {"id": job.pk}}
    assert await next_message(communicator, "jobs", lambda d: d["kind"] == "job.deleted") == deleted
    assert await next_message(communicator, f"job.{job.pk}", lambda d: d["kind"] == "job.deleted") == deleted
    await communicator.disconnect()
