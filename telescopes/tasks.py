"""Celery wrappers: take ids, call one service. Operations and sessions advance one step per task,
re-enqueued with a countdown, so a worker is never held by a slew or a whole pass."""

from celery import shared_task

from missionops import health

from .services import monitoring, operations, tracking


@shared_task(ignore_result=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def advance_operation_task(operation_id: int) -> None:
    delay = operations.advance_operation(operation_id=operation_id)
    if delay is not None:
        advance_operation_task.apply_async((operation_id,), countdown=delay)


@shared_task(ignore_result=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def advance_session_task(session_id: int) -> None:
    delay = tracking.advance_session(session_id=session_id)
    if delay is not None:
        advance_session_task.apply_async((session_id,), countdown=delay)


@shared_task(ignore_result=True, expires=60)
def check_devices() -> dict:
    return monitoring.check_all_devices()


@shared_task(ignore_result=True, expires=30)
def sweep_components() -> int:
    return len(health.sweep_components())


@shared_task(ignore_result=True, expires=60)
def sweep_operations() -> int:
    return operations.sweep_operations()
