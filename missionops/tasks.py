from celery import shared_task

from .services import event_stream, webhooks


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    delivery = webhooks.deliver(delivery_id=delivery_id)
    return delivery.state if delivery else None


@shared_task(name="missionops.requeue_stale_deliveries", ignore_result=True, max_retries=0)
def requeue_stale_deliveries() -> int:
    return webhooks.requeue_stale_deliveries()


@shared_task(ignore_result=True, soft_time_limit=60)
def relay_events() -> int:
    """Relay the event outbox to JetStream (safe beside other relays: rows are claimed SKIP LOCKED,
    and a re-publish is dropped by the stream's duplicate window)."""
    if not event_stream.stream_enabled() or not event_stream.pending_count():
        return 0
    try:
        with event_stream.StreamClient(name="missionops-relay-task") as client:
            return event_stream.relay_all(client=client).published
    except event_stream.StreamUnavailable as error:
        event_stream.logger.warning("event stream relay: %s (the outbox keeps the events)", error)
        return 0
