"""Celery entry points: thin, idempotent wrappers around services."""

from celery import shared_task

from . import services
from .models import JobTemplate


@shared_task(ignore_result=True, autoretry_for=(ConnectionError,), max_retries=3, retry_backoff=True)
def sweep_leases() -> int:
    return len(services.sweep_expired_leases())


@shared_task(ignore_result=True, max_retries=0)
def submit_template(template_id: int) -> int | None:
    """Beat fires this on a template's cron schedule: one new job from the template."""
    try:
        template = JobTemplate.objects.select_related("organization").get(pk=template_id)
    except JobTemplate.DoesNotExist:
        return None
    return services.submit_from_template(template=template, actor=None).pk
