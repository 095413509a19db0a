"""Beat tasks: thin, idempotent wrappers around the archive services (schedules: migrations 0003, 0005)."""

from celery import shared_task

from . import services


@shared_task(name="telemetry.ensure_partitions", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def ensure_partitions() -> list[str]:
    return services.create_partitions_ahead()


@shared_task(name="telemetry.roll_up", autoretry_for=(Exception,), max_retries=2, retry_backoff=True)
def roll_up() -> int:
    return services.roll_up()


@shared_task(name="telemetry.apply_retention", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def apply_retention() -> dict:
    return services.apply_retention()
