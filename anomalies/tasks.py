"""Beat tasks: thin, idempotent wrappers (schedules: migration 0002_beat_schedules)."""

from celery import shared_task

from . import services
from .services import sweeps


@shared_task(name="anomalies.sweep", autoretry_for=(Exception,), max_retries=2, retry_backoff=True)
def sweep() -> dict:
    return sweeps.sweep().as_dict()


@shared_task(name="anomalies.escalate", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def escalate() -> list[int]:
    return [a.pk for a in services.escalate_due()]


@shared_task(name="anomalies.unshelve", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def unshelve() -> int:
    return services.unshelve_due()
