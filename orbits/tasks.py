"""Thin Celery wrappers around the orbit services; each is idempotent."""

from celery import shared_task

from missionops.models import Organization

from . import services


@shared_task(name="orbits.propagate_fleet", ignore_result=True, expires=10)
def propagate_fleet() -> int:
    return services.propagate_fleet()


@shared_task(name="orbits.announce_passes", ignore_result=True, expires=30)
def announce_passes() -> int:
    return services.announce_passes()


@shared_task(name="orbits.compute_passes", autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def compute_passes(organization_id: int | None = None) -> int:
    organizations = Organization.objects.all()
    if organization_id is not None:
        organizations = organizations.filter(pk=organization_id)
    return sum(services.recompute_passes(organization=org) for org in organizations)


@shared_task(name="orbits.screen_conjunctions", autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def screen_conjunctions(organization_id: int | None = None) -> int:
    from .services import screening

    organizations = Organization.objects.all()
    if organization_id is not None:
        organizations = organizations.filter(pk=organization_id)
    return sum(len(screening.screen_conjunctions(organization=org)) for org in organizations)


@shared_task(name="orbits.sync_catalogue", autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def sync_catalogue() -> int:
    """Sync the configured catalogue sources; when anything new was stored, screen every
    organization for conjunctions against it."""
    from .services import catalogue_sync

    results = catalogue_sync.sync_configured()
    stored = sum(r.stored for r in results if r.status == "stored")
    if stored:
        screen_conjunctions.delay()
    return stored
