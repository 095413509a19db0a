"""A task for the Celery fault drill only (loaded into the drill's worker with `-I`)."""

import time

from celery import shared_task


@shared_task(name="drill.sleep", acks_late=True)
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
