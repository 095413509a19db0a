from celery import shared_task

from . import webhooks


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    delivery = webhooks.deliver(delivery_id=delivery_id)
    return delivery.state if delivery else None
