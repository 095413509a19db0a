"""Webhooks against a real local HTTP receiver, delivered by a real Celery worker."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from missionops import webhooks
from missionops.models import DeliveryState, Event, Webhook, WebhookDelivery
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
    assert webhooks.verify(hook.secret, headers["x-missionops-timestamp"], body, headers["x-missionops-signature"])
    assert not webhooks.verify(
        "another-secret", headers["x-missionops-timestamp"], body, headers["x-missionops-signature"]
    )
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
    assert WebhookDelivery.objects.filter(webhook=hook, state=DeliveryState.FAILED).count() == 2
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
    assert receiver.requests == [] and delivery.state == "failed" and delivery.attempts == 0
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
