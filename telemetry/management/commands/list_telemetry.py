"""Print the parameters of spacecraft with their latest value, status and age."""

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from spacecraft.models import Spacecraft
from telemetry import selectors


class Command(BaseCommand):
    help = "List telemetry parameters (declared and undeclared) with latest value, status and age."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug (default: all)")
        parser.add_argument("--spacecraft", help="one designation or id")
        parser.add_argument("--stale", action="store_true", help="only stale parameters")

    def handle(self, *args, organization=None, spacecraft=None, stale=False, **options):
        fleet = Spacecraft.objects.select_related("organization").order_by("organization__slug", "designation")
        if organization:
            fleet = fleet.filter(organization__slug=organization)
        if spacecraft:
            try:  # a designation may look like an id (32 hex digits): either matches
                fleet = fleet.filter(Q(pk=uuid.UUID(spacecraft)) | Q(designation=spacecraft))
            except ValueError:
                fleet = fleet.filter(designation=spacecraft)
        fleet = list(fleet)
        if not fleet:
            raise CommandError("no such spacecraft")
        header = f"{'org':<10} {'spacecraft':<10} {'subsystem':<9} {'parameter':<24} {'value':>14} {'units':<6} "
        self.stdout.write(header + f"{'status':<9} {'age':>9}  declared")
        for sc in fleet:
            for row in selectors.latest_values(spacecraft=sc):
                if stale and not row["stale"]:
                    continue
                value = row["value"]
                shown = f"{value:.4g}" if isinstance(value, float) else ("—" if value is None else str(value))
                age = "never" if row["age_s"] is None else _age(row["age_s"])
                self.stdout.write(
                    f"{sc.organization.slug:<10} {sc.designation:<10} {row['subsystem'] or '-':<9} "
                    f"{row['parameter']:<24} {shown:>14} {row['units']:<6} {row['status']:<9} {age:>9}  "
                    f"{'yes' if row['declared'] else 'NO'}{' (stale)' if row['stale'] else ''}"
                )


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
