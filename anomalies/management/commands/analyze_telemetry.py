"""Run every detector over a spacecraft's recent telemetry and print the findings (writes nothing)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from anomalies import analysis
from spacecraft.models import Spacecraft


class Command(BaseCommand):
    help = (
        "Run all detectors (limits, rate, stuck value, z-score, IQR, EWMA, stale) over the newest --limit "
        "samples of each parameter of --spacecraft and print what they find, without recording anything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--spacecraft", required=True, help="designation or id")
        parser.add_argument("--organization", default="", help="organization slug, if the designation is ambiguous")
        parser.add_argument("--limit", type=int, default=1000, help="samples per parameter (1-100000, default 1000)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON instead of a table")

    def handle(self, *args, spacecraft, organization, limit, as_json, **options):
        if not 1 <= limit <= 100_000:
            raise CommandError("--limit must lie between 1 and 100000")
        fleet = Spacecraft.objects.all()
        if organization:
            fleet = fleet.filter(organization__slug=organization)
        matches = list(fleet.filter(designation=spacecraft))
        if not matches and _is_uuid(spacecraft):  # a designation is no id: querying it as one raises
            matches = list(fleet.filter(pk=spacecraft))
        if len(matches) != 1:
            raise CommandError(f"{'no' if not matches else 'several'} spacecraft {spacecraft!r} (use --organization)")
        report = analysis.analyze(spacecraft=matches[0], limit=limit)
        if as_json:
            self.stdout.write(_dumps(report))
            return
        self.stdout.write(
            f"{report['designation']} ({report['mode']}): {report['samples']} samples of "
            f"{report['parameters']} parameters, {len(report['findings'])} findings"
        )
        header = f"{'severity':9} {'parameter':24} {'detector':9} {'threshold':20} {'peak':>12} {'n':>5}  started"
        self.stdout.write(header)
        for f in report["findings"]:
            peak = f"{f['peak_value']:.4g}" if f["peak_value"] is not None else "-"
            self.stdout.write(
                f"{f['severity']:9} {f['parameter'][:24]:24} {f['detector']:9} {f['threshold'][:20]:20} "
                f"{peak:>12} {f['sample_count']:>5}  {f['started_at']:%Y-%m-%d %H:%M:%S}"
                + ("" if f["cleared_at"] else "  (ongoing)")
            )


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _dumps(report: dict) -> str:
    return json.dumps(report, cls=DjangoJSONEncoder, indent=2)
