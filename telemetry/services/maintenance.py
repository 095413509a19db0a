"""Archive upkeep the beat runs: day partitions made ahead, pending minutes rolled up."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .archive import ensure_partitions, roll_up_pending


def create_partitions_ahead(*, days_ahead: int | None = None, today: dt.date | None = None) -> list[str]:
    """Make sure the partitions from yesterday to `days_ahead` days ahead exist. Idempotent."""
    days_ahead = days_ahead if days_ahead is not None else settings.TELEMETRY_PARTITIONS_AHEAD_DAYS
    today = today or timezone.now().date()
    return ensure_partitions(days=[today + dt.timedelta(days=n) for n in range(-1, days_ahead + 1)])


def roll_up(*, limit: int = 10_000) -> int:
    """Roll up pending minutes, and the hours they fall in; returns how many minutes. Safe to run
    concurrently with ingest and itself (runs are serialised), and to re-run (nothing is counted twice)."""
    return roll_up_pending(limit=limit)
