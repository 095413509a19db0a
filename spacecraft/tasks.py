"""Celery wrappers around the command queue: ids in, one service call, idempotent."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def transmit_command(command_id: int) -> str | None:
    command = services.transmit(command_id=command_id)
    return command.state if command else None


@shared_task
def expire_unacknowledged_commands() -> int:
    return services.expire_unacknowledged()


@shared_task
def release_commands_at_contact() -> int:
    return services.release_at_contact()
