"""How long raw samples are kept, per organization, and the beat job that enforces it."""

import datetime as dt

from django.conf import settings
from django.db import connection
from django.utils import timezone

from missionops.models import Organization

from ..models import RetentionPolicy
from .archive import drop_partitions_before
from .maintenance import roll_up


def default_raw_days() -> int:
    """Days raw samples are kept where an organization set no policy (TELEMETRY_RAW_RETENTION_DAYS)."""
    return settings.TELEMETRY_RAW_RETENTION_DAYS


def set_retention(*, organization: Organization, raw_days: int) -> RetentionPolicy:
    """Set how many days of raw samples the organization keeps (at least 1)."""
    from missionops.exceptions import DomainError

    if not isinstance(raw_days, int) or raw_days < 1:
        raise DomainError("raw_days must be a whole number of days, at least 1", field="raw_days")
    policy, _ = RetentionPolicy.objects.update_or_create(organization=organization, defaults={"raw_days": raw_days})
    return policy


def apply_retention(*, now: dt.datetime | None = None) -> dict:
    """Drop raw day partitions older than every organization's retention, and delete the older raw
    rows of organizations that keep less. Minute and hour roll-ups are kept (pending minutes are
    rolled up first, so nothing unrolled is lost); only those of deleted parameters go. Idempotent."""
    now = now or timezone.now()
    roll_up(limit=1_000_000)
    default_days = default_raw_days()
    policies = dict(RetentionPolicy.objects.values_list("organization_id", "raw_days"))
    org_days = {
        org_id: policies.get(org_id, default_days) for org_id in Organization.objects.values_list("pk", flat=True)
    }
    longest = max(org_days.values(), default=default_days)
    cutoff_day = (now - dt.timedelta(days=longest)).date()
    dropped = drop_partitions_before(day=cutoff_day)
    deleted = 0
    with connection.cursor() as cursor:
        for org_id, days in org_days.items():
            if days >= longest:
                continue
            cursor.execute(
                "DELETE FROM telemetry_sample WHERE time < %s AND parameter_id IN ("
                " SELECT d.id FROM telemetry_parameterdefinition d JOIN spacecraft_spacecraft s"
                " ON s.id = d.spacecraft_id WHERE s.organization_id = %s)",
                [now - dt.timedelta(days=days), org_id],
            )
            deleted += cursor.rowcount
        for table in ("telemetry_minute_rollup", "telemetry_hour_rollup"):
            cursor.execute(
                f"DELETE FROM {table} r WHERE NOT EXISTS ("
                " SELECT 1 FROM telemetry_parameterdefinition d WHERE d.id = r.parameter_id)"
            )
    return {"dropped_partitions": dropped, "deleted_rows": deleted}
