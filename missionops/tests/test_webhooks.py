"""Webhooks against a real local HTTP receiver, delivered by a real Celery worker."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db.models import Count

from missionops.models import DeliveryState, Event, Webhook, WebhookDelivery
from missionops.services import webhooks
from spacecraft import services

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch, settings):
    # Read by the worker process (environment) and by this process (settings).
    for name, value in (("WEBHOOK_RETRY_BASE_S", "0.2"), ("WEBHOOK_MAX_ATTEMPTS", "3"), ("WEBHOOK_DISABLE_AFTER", "2")):
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value) if "." in value else int(value))


class Receiver:
    def __init__(self, statuses):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"receiver exploded")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        made.append(Receiver(statuses or (200,)))
        return made[-1]

    yield make
    for r in made:
        r.server.shutdown()


def wait_for(predicate, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_delivery_is_signed_and_verifiable(receiver, org_a, owner, sc_a, celery_worker_process):
    r = receiver(200)
    hook = webhooks.create_webhook(organization=org_a, name="ops", url=r.url, event_kinds=["mode."], actor=owner)
    services.update_state(spacecraft=sc_a, battery_soc_pct=5)
    assert wait_for(lambda: WebhookDelivery.objects.filter(webhook=hook, state=DeliveryState.SUCCEEDED).exists())
    [request] = r.requests
    headers, body = request["headers"], request["body"]
    assert headers["x-missionops-event"] == "mode.changed"
    timestamp, signature = headers["x-missionops-timestamp"], headers["x-missionops-signature"]
    assert webhooks.verify(secret=hook.secret, timestamp=timestamp, body=body, signature=signature)
    assert not webhooks.verify(secret="another-secret", timestamp=timestamp, body=body, signature=signature)
    assert json.loads(body)["event"]["payload"]["to"] == "survival"
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status_code == 200 and delivery.latency_ms > 0 and delivery.response_excerpt == "ok"


def test_retries_with_backoff_until_success(receiver, org_a, owner, sc_a, celery_worker_process):
    r = receiver(500, 500, 200)
    hook = webhooks.create_webhook(organization=org_a, name="flaky", url=r.url, event_kinds=["*"], actor=owner)
    services.update_state(spacecraft=sc_a, memory_used_pct=10)  # no event: no delivery
    services.update_state(spacecraft=sc_a, mode="standby")
    assert wait_for(lambda: WebhookDelivery.objects.filter(webhook=hook, state=DeliveryState.SUCCEEDED).exists())
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.attempts == 3 and len(r.requests) == 3
    assert len({req["headers"]["x-missionops-delivery"] for req in r.requests}) == 1


def test_disabled_after_repeated_failures(receiver, org_a, owner, sc_a, celery_worker_process):
    r = receiver(500)
    hook = webhooks.create_webhook(
        organization=org_a, name="dead", url=r.url, event_kinds=["mode.changed"], actor=owner
    )
    services.update_state(spacecraft=sc_a, mode="standby")
    services.update_state(spacecraft=sc_a, mode="nominal")
    assert wait_for(lambda: not Webhook.objects.get(pk=hook.pk).is_active, timeout_s=30)
    hook.refresh_from_db()
    assert "disabled after 2 failed deliveries" in hook.disabled_reason
    assert WebhookDelivery.objects.filter(webhook=hook, state=DeliveryState.DEAD_LETTER).count() == 2
    assert all(d.attempts == 3 and d.status_code == 500 for d in WebhookDelivery.objects.filter(webhook=hook))
    assert Event.objects.filter(kind="webhook.disabled", subject_id=str(hook.pk)).exists()
    services.update_state(spacecraft=sc_a, mode="standby")
    assert WebhookDelivery.objects.filter(webhook=hook).count() == 2  # a disabled hook gets nothing


def test_send_test_button_api_and_scoping(api, receiver, owner, viewer, stranger, celery_worker_process):
    r = receiver(200)
    client = api(owner)
    created = client.post("/api/v1/webhooks/", {"name": "ci", "url": r.url, "event_kinds": ["command."]}, format="json")
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    hook_id = created.json()["id"]
    assert client.post(f"/api/v1/webhooks/{hook_id}/test/").status_code == 202
    assert wait_for(lambda: len(r.requests) == 1)
    assert r.requests[0]["headers"]["x-missionops-event"] == "webhook.test"
    assert wait_for(
        lambda: client.get(f"/api/v1/webhooks/{hook_id}/deliveries/").json()["results"][0]["state"] == "succeeded"
    )
    bad = client.post("/api/v1/webhooks/", {"name": "x", "url": "ftp://x", "event_kinds": ["*"]}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()
    empty = client.post("/api/v1/webhooks/", {"name": "x", "url": r.url, "event_kinds": []}, format="json")
    assert empty.status_code == 400 and "event_kinds" in empty.json()
    assert api(stranger).get(f"/api/v1/webhooks/{hook_id}/").status_code == 404
    assert api(stranger).post(f"/api/v1/webhooks/{hook_id}/test/").status_code == 404
    assert api(viewer).get(f"/api/v1/webhooks/{hook_id}/").status_code == 404  # secrets: admins only
    assert (
        api(viewer)
        .post("/api/v1/webhooks/", {"name": "x", "url": r.url, "event_kinds": ["*"]}, format="json")
        .status_code
        == 403
    )
    assert Webhook.objects.count() == 1


@pytest.mark.django_db
def test_a_webhook_disabled_after_an_event_was_queued_gets_nothing_more(receiver, org_a, owner):
    from missionops.services import record_event

    receiver = receiver()
    hook = webhooks.create_webhook(organization=org_a, name="h", url=receiver.url, event_kinds=["*"], actor=owner)
    record_event(organization=org_a, kind="mode.changed", payload={})
    delivery = WebhookDelivery.objects.get(webhook=hook)
    webhooks.update_webhook(webhook=hook, actor=owner, is_active=False)  # an admin turns it off
    webhooks.deliver(delivery_id=delivery.pk)  # the retry already queued runs
    delivery.refresh_from_db()
    assert receiver.requests == [] and delivery.state == "dead_letter" and delivery.attempts == 0
    assert delivery.error == "webhook disabled before this attempt"


def test_webhooks_page_creates_in_the_chosen_organization_and_shows_recent_deliveries(client, owner, org_b, receiver):
    from missionops.services import record_event, set_membership

    receiver = receiver()
    set_membership(organization=org_b, user=owner, role="admin")  # admin of both now
    client.force_login(owner)
    answer = client.post(
        "/webhooks/", {"organization": org_b.pk, "name": "b-hook", "url": receiver.url, "event_kinds": "*"}
    )
    assert answer.status_code == 302
    hook = Webhook.objects.get(name="b-hook")
    assert hook.organization == org_b
    refused = client.post("/webhooks/", {"name": "which", "url": receiver.url, "event_kinds": "*"})
    assert "choose the organization" in refused.content.decode()
    for n in range(25):
        record_event(organization=org_b, kind="mode.changed", payload={"n": n})
    page = client.get("/webhooks/").content.decode()
    assert page.count("<code>mode.changed</code>") == 20  # the newest 20 only


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_claimed_while_another_event_for_its_webhook_is_being_recorded(receiver, org_a, owner):
    """Inserting a delivery takes a key-share lock on its webhook row (the foreign key check, at
    commit); the claim must not skip a delivery because of it (it did: it locked the joined
    webhook row too). Checking constraints at once holds that lock long enough to see it."""
    from django.db import connections, transaction

    from missionops.services import record_event

    r = receiver(200)
    hook = webhooks.create_webhook(organization=org_a, name="h", url=r.url, event_kinds=["mode."], actor=owner)
    first = WebhookDelivery.objects.create(webhook=hook, event=record_event(organization=org_a, kind="x.y", payload={}))
    inserted, release = threading.Event(), threading.Event()

    def record_in_an_open_transaction():
        try:
            with transaction.atomic():
                connections["default"].cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
                record_event(organization=org_a, kind="mode.changed", payload={})
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    writer = threading.Thread(target=record_in_an_open_transaction)
    writer.start()
    try:
        assert inserted.wait(10)
        delivery = webhooks.deliver(delivery_id=first.pk)
    finally:
        release.set()
        writer.join(10)
    assert delivery is not None and delivery.state == DeliveryState.SUCCEEDED
    assert len(r.requests) == 1


class FlakyReceiver:
    """Answers 503 to every 7th request and stalls past the sender's timeout on every 11th (yet
    processes that one); remembers Idempotency-Keys and processes each key once, as a receiver
    should, counting the repeats it was sent."""

    def __init__(self, stall_s):
        self.lock, self.posts, self.stalls, self.repeats, self.processed = threading.Lock(), 0, 0, 0, set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                key, stall = self.headers["Idempotency-Key"], False
                with receiver.lock:
                    receiver.posts += 1
                    n = receiver.posts
                    if n % 7 == 0:
                        status = 503
                    elif key in receiver.processed:
                        receiver.repeats, status = receiver.repeats + 1, 200
                    else:
                        receiver.processed.add(key)
                        status = 200
                        if stall := n % 11 == 0:
                            receiver.stalls += 1
                if stall:
                    time.sleep(stall_s)  # the sender times out, yet the event was processed
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def patient_retries(monkeypatch, settings):
    for name, value in (("WEBHOOK_TIMEOUT_S", "0.5"), ("WEBHOOK_MAX_ATTEMPTS", "10")):
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value) if "." in value else int(value))


def test_a_burst_of_200_deliveries_to_a_flaky_receiver_is_delivered_exactly_once(
    patient_retries, org_a, owner, celery_worker_process
):
    """Four threads record 200 events (each in a transaction that stays open a moment, as a job
    submission does) while the worker delivers to a receiver that is sometimes down or slow."""
    from django.db import connections, transaction

    from missionops.services import record_event

    r = FlakyReceiver(stall_s=1.5)
    hook = webhooks.create_webhook(organization=org_a, name="burst", url=r.url, event_kinds=["job."], actor=owner)

    def submit(thread_no):
        try:
            for n in range(50):
                with transaction.atomic():
                    record_event(organization=org_a, kind="job.submitted", payload={"t": thread_no, "n": n})
                    time.sleep(0.005)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        delivered = wait_for(
            lambda: WebhookDelivery.objects.filter(webhook=hook, state=DeliveryState.SUCCEEDED).count() == 200,
            timeout_s=120,
        )
        states = dict(WebhookDelivery.objects.filter(webhook=hook).values_list("state").annotate(n=Count("id")))
        assert delivered, states
        keys = {
            f"missionops-delivery-{pk}"
            for pk in WebhookDelivery.objects.filter(webhook=hook).values_list("pk", flat=True)
        }
        assert r.processed == keys  # every event reached the receiver, each processed once
        assert r.stalls > 0 and r.posts > 200  # the receiver did fail and stall some attempts
        # A processed event is sent again only where its attempt stalled past the timeout.
        assert r.repeats <= r.stalls
    finally:
        r.server.shutdown()


def test_the_sweep_requeues_a_delivery_whose_message_was_lost(receiver, org_a, owner, celery_worker_process):
    from datetime import timedelta

    from django.utils import timezone

    from missionops.services import record_event

    r = receiver(200)
    hook = webhooks.create_webhook(organization=org_a, name="h", url=r.url, event_kinds=["none."], actor=owner)
    event = record_event(organization=org_a, kind="mode.changed", payload={})
    # A delivery whose task never reached the broker (Redis restarted before it was sent).
    lost = WebhookDelivery.objects.create(webhook=hook, event=event)
    WebhookDelivery.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    fresh = WebhookDelivery.objects.create(
        webhook=hook, event=record_event(organization=org_a, kind="other", payload={}), next_attempt_at=timezone.now()
    )
    assert webhooks.requeue_stale_deliveries() == 1  # the fresh one may still be on its way
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=lost.pk).state == DeliveryState.SUCCEEDED)
    assert WebhookDelivery.objects.get(pk=fresh.pk).state == DeliveryState.PENDING


@pytest.mark.django_db
def test_the_sweep_runs_on_beat():
    from django_celery_beat.models import PeriodicTask

    sweep = PeriodicTask.objects.get(task="missionops.requeue_stale_deliveries")
    assert sweep.enabled and sweep.interval.every == 60


def test_dead_letter_after_max_attempts_then_redeliver(
    api, receiver, org_a, owner, viewer, stranger, celery_worker_process
):
    from missionops.services import record_event

    r = receiver(500, 500, 500, 200)
    hook = webhooks.create_webhook(organization=org_a, name="h", url=r.url, event_kinds=["*"], actor=owner)
    record_event(organization=org_a, kind="mode.changed", payload={})
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).state == DeliveryState.DEAD_LETTER)
    assert [req["headers"]["idempotency-key"] for req in r.requests] == [f"missionops-delivery-{delivery.pk}"] * 3
    path = f"/api/v1/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/"
    assert api(stranger).post(path).status_code == 404
    assert api(viewer).post(path).status_code == 404
    assert api(owner).post(f"/api/v1/webhooks/{hook.pk}/deliveries/999999/redeliver/").status_code == 404
    answer = api(owner).post(path)
    assert answer.status_code == 202 and answer.json()["state"] == "pending"
    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).state == DeliveryState.SUCCEEDED)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and len(r.requests) == 4
    assert Event.objects.filter(kind="webhook.redelivered", subject_id=str(hook.pk)).exists()
    listing = api(owner).get(f"/api/v1/webhooks/{hook.pk}/deliveries/").json()
    assert [row["id"] for row in listing["results"]] == [delivery.pk] and "next" in listing


@pytest.mark.django_db
def test_redeliver_refuses_a_delivery_still_in_flight(api, receiver, org_a, owner):
    from missionops.services import record_event

    hook = webhooks.create_webhook(organization=org_a, name="h", url=receiver().url, event_kinds=["*"], actor=owner)
    record_event(organization=org_a, kind="mode.changed", payload={})
    delivery = WebhookDelivery.objects.get(webhook=hook)
    answer = api(owner).post(f"/api/v1/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert answer.status_code == 409 and "pending" in answer.json()["detail"]


def test_backoff_doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_S, settings.WEBHOOK_RETRY_MAX_S = 10, 60
    assert [webhooks.backoff_s(attempts=n) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]


@pytest.mark.django_db
def test_webhooks_page_redelivers_a_dead_letter(client, owner, stranger, org_a, receiver):
    from missionops.services import record_event

    hook = webhooks.create_webhook(organization=org_a, name="h", url=receiver().url, event_kinds=["*"], actor=owner)
    record_event(organization=org_a, kind="mode.changed", payload={})
    delivery = WebhookDelivery.objects.get(webhook=hook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.DEAD_LETTER, attempts=5)
    client.force_login(owner)
    page = client.get("/webhooks/").content.decode()
    assert f"/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/" in page and "Idempotency-Key" in page
    client.force_login(stranger)
    assert client.post(f"/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404
    client.force_login(owner)
    assert client.post(f"/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0
