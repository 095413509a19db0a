from celery import shared_task

from . import webhooks


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    delivery = webhooks.deliver(delivery_id=delivery_id)
    return delivery.state if delivery else None


@shared_task(name="missionops.requeue_stale_deliveries", ignore_result=True, max_retries=0)
def requeue_stale_deliveries() -> int:
    return webhooks.requeue_stale_deliveries()
