"""Thin Celery wrappers around the planning services; each is idempotent."""

from celery import shared_task

from missionops.models import Organization

from . import services


@shared_task(name="planning.advance_plans", ignore_result=True, expires=30)
def advance_plans() -> dict:
    return services.advance_plans()


@shared_task(name="planning.replan", ignore_result=True, expires=120, autoretry_for=(OSError,), max_retries=2)
def replan() -> int:
    """Re-plan every organization whose plan a trigger made stale (the advisory lock keeps one
    planner per organization)."""
    planned = 0
    for organization in Organization.objects.all():
        if services.replan_if_triggered(organization=organization) is not None:
            planned += 1
    return planned
