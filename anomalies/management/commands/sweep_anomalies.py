"""Run the swept detectors once (what the beat task does every 15 s), with progress."""

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from anomalies import services
from anomalies.services import sweeps
from spacecraft.models import Spacecraft


class Command(BaseCommand):
    help = (
        "Run the detectors (limits on played-back samples, rate, stuck value, z-score, IQR, EWMA, "
        "forecast) over every sample ingested since the last sweep, however old, and the stale "
        "detector over every parameter; then escalate due criticals and unshelve due alarms. Safe to "
        "run while the beat sweep runs (arrivals and cursors are claimed with SKIP LOCKED)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="", help="organization slug (default: all)")
        parser.add_argument("--spacecraft", default="", help="comma-separated designations (default: all)")
        parser.add_argument("--no-escalate", action="store_true", help="only detect")

    def handle(self, *args, organization, spacecraft, no_escalate, **options):
        fleet = Spacecraft.objects.all()
        if organization:
            fleet = fleet.filter(organization__slug=organization)
        if spacecraft:
            fleet = fleet.filter(designation__in=[d.strip() for d in spacecraft.split(",")])
        count = fleet.count()
        if not count:
            raise CommandError("no spacecraft to sweep")
        with tqdm(total=count, desc="sweep", unit="spacecraft", file=self.stderr, disable=None) as bar:
            result = sweeps.sweep(spacecraft=fleet, progress=lambda sc: bar.update(1))
        summary = result.as_dict()
        if not no_escalate:
            summary["escalated"] = len(services.escalate_due())
            summary["unshelved"] = services.unshelve_due()
        self.stdout.write(json.dumps(summary))
