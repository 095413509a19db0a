"""Celery wrappers around the command queue: ids in, one service call, idempotent."""

from celery import shared_task

from . import commanding


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def transmit_command(command_id: int) -> str | None:
    command = commanding.transmit(command_id=command_id)
    return command.state if command else None


@shared_task
def expire_unacknowledged_commands() -> int:
    return commanding.expire_unacknowledged()


@shared_task
def release_commands_at_contact() -> int:
    return commanding.release_at_contact()
