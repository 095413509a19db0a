"""Webhooks: signed deliveries of events to organization endpoints, with retries and auto-disable.

Signature: `X-MissionOps-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret,
f"{timestamp}.{body}") and timestamp is the `X-MissionOps-Timestamp` header (Unix seconds).
A receiver recomputes it and rejects stale timestamps to stop replays.

Delivery is at least once: every attempt of one delivery carries the same `Idempotency-Key`, so a
receiver that remembers keys processes each event once. A delivery whose task was lost (a broker
restart, a worker killed mid-attempt) is picked up again by the reconciliation sweep; after
WEBHOOK_MAX_ATTEMPTS it is dead-lettered and stays there until someone redelivers it.
"""

import hashlib
import hmac
import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .. import outbound
from ..exceptions import ConflictError, DomainError
from ..models import DeliveryState, Event, Webhook, WebhookDelivery
from ..representations import EventSerializer, represent
from ..tenancy import user_or_none
from .events import record_event

IN_FLIGHT = (DeliveryState.PENDING, DeliveryState.RETRYING)


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-MissionOps-Signature of a delivery: HMAC-SHA256 over "timestamp.body"."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(*, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is the one `sign` gives (what a receiver checks), in constant time."""
    return hmac.compare_digest(sign(secret=secret, timestamp=timestamp, body=body), signature)


def validate_event_kinds(kinds) -> list[str]:
    """The event kinds a webhook subscribes to (a kind, a prefix ending in ".", or "*")."""
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise DomainError(
            'event_kinds must be a non-empty list such as ["mode.changed", "command.", "*"]', field="event_kinds"
        )
    return kinds


@transaction.atomic
def create_webhook(*, organization, name: str, url: str, event_kinds: list[str], actor=None) -> Webhook:
    """A webhook to a public http(s) URL (SSRF-checked), announced in the event log."""
    if not url.startswith(("http://", "https://")):
        raise DomainError("url must be http:// or https://", field="url")
    outbound.check_url(url)
    webhook = Webhook.objects.create(
        organization=organization,
        name=name,
        url=url,
        event_kinds=validate_event_kinds(event_kinds),
        created_by=user_or_none(actor),
    )
    record_event(
        organization=organization,
        kind="webhook.created",
        subject=webhook,
        actor=actor,
        payload={"url": url, "event_kinds": event_kinds},
    )
    return webhook


@transaction.atomic
def update_webhook(*, webhook: Webhook, actor=None, **changes) -> Webhook:
    """Change a webhook's fields (URL checked again), announced in the event log."""
    if "event_kinds" in changes:
        validate_event_kinds(changes["event_kinds"])
    if "url" in changes and not changes["url"].startswith(("http://", "https://")):
        raise DomainError("url must be http:// or https://", field="url")
    if "url" in changes:
        outbound.check_url(changes["url"])
    for name in ("name", "url", "event_kinds", "is_active"):
        if name in changes:
            setattr(webhook, name, changes[name])
    if changes.get("is_active"):  # re-enabling starts a fresh failure count
        webhook.consecutive_failures, webhook.disabled_reason = 0, ""
    webhook.save()
    record_event(
        organization=webhook.organization,
        kind="webhook.updated",
        subject=webhook,
        actor=actor,
        payload={k: v for k, v in changes.items() if k != "secret"},
    )
    return webhook


def enqueue_deliveries_for(*, event: Event, **kwargs) -> None:
    """Receiver of events.event_recorded (connected in MissionOpsConfig.ready)."""
    enqueue_deliveries(event)


def enqueue_deliveries(event: Event) -> None:
    """Called by record_event: one delivery per active webhook that wants this kind, sent by
    Celery after commit (a rolled-back event sends nothing)."""
    if event.kind.startswith("webhook."):
        return  # never announce webhook bookkeeping to webhooks (no feedback loops)
    hooks = [
        h for h in Webhook.objects.filter(organization_id=event.organization_id, is_active=True) if h.wants(event.kind)
    ]
    for webhook in hooks:
        delivery = WebhookDelivery.objects.create(webhook=webhook, event=event, next_attempt_at=timezone.now())
        transaction.on_commit(lambda pk=delivery.pk: _schedule(pk, countdown=0))


def _schedule(delivery_id: int, countdown: float) -> None:
    # By name: the tasks module imports this one, never the reverse.
    import_string("missionops.tasks.deliver_webhook").apply_async(args=[delivery_id], countdown=countdown)


def body_for(event: Event) -> bytes:
    """The JSON body posted for `event` (compact, sorted keys: what the signature covers)."""
    return json.dumps({"event": represent(EventSerializer, event)}, separators=(",", ":"), sort_keys=True).encode()


def backoff_s(*, attempts: int) -> float:
    """Wait before the next attempt after `attempts` failed ones: doubling, capped."""
    base, cap = settings.WEBHOOK_RETRY_BASE_S, settings.WEBHOOK_RETRY_MAX_S
    return min(base * 2 ** (attempts - 1), cap)


def idempotency_key(delivery: WebhookDelivery) -> str:
    """The Idempotency-Key header of a delivery: the same on every retry of it."""
    return f"missionops-delivery-{delivery.pk}"


def deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt. Success ends it; a failure schedules a retry with exponential backoff, or
    dead-letters it after WEBHOOK_MAX_ATTEMPTS; WEBHOOK_DISABLE_AFTER consecutive dead-lettered
    deliveries disable the webhook. Safe to run twice: a finished delivery, or one another worker
    is sending right now, is left alone."""
    with transaction.atomic():
        # Lock the delivery row only: locking the joined webhook too made the claim skip every
        # delivery whose webhook was briefly key-share locked by a new delivery's foreign key.
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook", "event")
            .filter(pk=delivery_id, state__in=IN_FLIGHT)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.webhook.is_active:  # disabled since it was queued: nothing more is sent
            delivery.state, delivery.next_attempt_at = DeliveryState.DEAD_LETTER, None
            delivery.error = "webhook disabled before this attempt"
            delivery.save(update_fields=["state", "next_attempt_at", "error"])
            return delivery
        timeout_s = settings.WEBHOOK_TIMEOUT_S
        delivery.attempts += 1
        # The sweep leaves an attempt in progress alone until this lease runs out.
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=timeout_s + 30)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    webhook, body = delivery.webhook, body_for(delivery.event)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MissionOps-Webhook/1",
        "Idempotency-Key": idempotency_key(delivery),
        "X-MissionOps-Event": delivery.event.kind,
        "X-MissionOps-Delivery": str(delivery.pk),
        "X-MissionOps-Timestamp": timestamp,
        "X-MissionOps-Signature": sign(secret=webhook.secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    status, excerpt, error = None, "", ""
    try:
        # No redirects: a signed POST goes to the URL its owner saved, nowhere else.
        response = outbound.request("POST", webhook.url, body=body, headers=headers, timeout_s=timeout_s)
        status, excerpt = response.status, response.excerpt
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except outbound.OutboundRefused as refused:
        error = refused.message[:300]
    except outbound.OutboundError as failed:
        error = str(failed)[:300]
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    return _record_attempt(delivery, status=status, excerpt=excerpt, error=error, latency_ms=latency_ms)


@transaction.atomic
def _record_attempt(delivery, *, status, excerpt, error, latency_ms) -> WebhookDelivery:

    webhook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
    delivery.status_code, delivery.response_excerpt, delivery.latency_ms = status, excerpt[:500], latency_ms
    delivery.error = error
    ok = status is not None and 200 <= status < 300
    if ok:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.SUCCEEDED, timezone.now(), None
        webhook.consecutive_failures = 0
    elif delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        backoff = backoff_s(attempts=delivery.attempts)
        delivery.state, delivery.next_attempt_at = DeliveryState.RETRYING, timezone.now() + timedelta(seconds=backoff)
        transaction.on_commit(lambda: _schedule(delivery.pk, countdown=backoff))
    else:
        delivery.state, delivery.next_attempt_at = DeliveryState.DEAD_LETTER, None
        webhook.consecutive_failures += 1
        if webhook.is_active and webhook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
            webhook.is_active = False
            webhook.disabled_reason = (
                f"disabled after {webhook.consecutive_failures} failed deliveries (last: {error})"[:300]
            )
            record_event(
                organization=webhook.organization,
                kind="webhook.disabled",
                subject=webhook,
                payload={"reason": webhook.disabled_reason},
            )
    delivery.save()
    webhook.save(update_fields=["consecutive_failures", "is_active", "disabled_reason"])
    return delivery


def requeue_stale_deliveries() -> int:
    """Reconciliation: queue again every delivery still pending or retrying WEBHOOK_STALE_AFTER_S
    after it was due (its task was lost, or its worker died mid-attempt). Returns how many."""
    deadline = timezone.now() - timedelta(seconds=settings.WEBHOOK_STALE_AFTER_S)
    with transaction.atomic():
        stale = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state__in=IN_FLIGHT, next_attempt_at__lt=deadline)
            .values_list("pk", flat=True)[:1000]
        )
        WebhookDelivery.objects.filter(pk__in=stale).update(next_attempt_at=timezone.now())
        for pk in stale:
            transaction.on_commit(lambda pk=pk: _schedule(pk, countdown=0))
    return len(stale)


@transaction.atomic
def redeliver(*, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """Send a finished delivery (dead-lettered or succeeded) again from a fresh attempt count,
    with the same Idempotency-Key; one still in flight is refused (409)."""

    delivery = WebhookDelivery.objects.select_for_update(of=("self",)).select_related("webhook").get(pk=delivery.pk)
    if delivery.state in IN_FLIGHT:
        raise ConflictError(f"delivery {delivery.pk} is {delivery.state}: it is still being delivered")
    if not delivery.webhook.is_active:
        raise ConflictError(f"webhook {delivery.webhook.name} is disabled: enable it before redelivering")
    delivery.state, delivery.attempts, delivery.next_attempt_at = DeliveryState.PENDING, 0, timezone.now()
    delivery.status_code = delivery.latency_ms = delivery.delivered_at = None
    delivery.error = delivery.response_excerpt = ""
    delivery.save()
    record_event(
        organization=delivery.webhook.organization,
        kind="webhook.redelivered",
        subject=delivery.webhook,
        actor=actor,
        payload={"delivery": delivery.pk, "event": str(delivery.event_id)},
    )
    transaction.on_commit(lambda: _schedule(delivery.pk, countdown=0))
    return delivery


@transaction.atomic
def send_test(*, webhook: Webhook, actor=None) -> WebhookDelivery:
    """Record a `webhook.test` event and deliver it to this webhook only."""

    event = record_event(
        organization=webhook.organization,
        kind="webhook.test",
        subject=webhook,
        actor=actor,
        payload={"message": "test delivery from MissionOps"},
        publish=False,
    )
    delivery = WebhookDelivery.objects.create(webhook=webhook, event=event, next_attempt_at=timezone.now())
    transaction.on_commit(lambda: _schedule(delivery.pk, countdown=0))
    return delivery
