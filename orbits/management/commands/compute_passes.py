from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from missionops.models import Organization
from orbits import services


class Command(BaseCommand):
    help = "Recompute the predicted passes (all spacecraft × stations) of every organization, or one."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug (default: all)")
        parser.add_argument("--hours", type=float, default=48.0, help="horizon in hours (default 48)")

    def handle(self, organization=None, hours=48.0, **options):
        if not 0 < hours <= 24 * 14:
            raise CommandError("--hours must be between 0 and 336")
        orgs = Organization.objects.order_by("slug")
        if organization:
            orgs = orgs.filter(slug=organization)
            if not orgs.exists():
                raise CommandError(f"no organization {organization!r}")
        total = 0
        with tqdm(list(orgs), desc="passes", unit="org", file=self.stderr, disable=None) as bar:
            for org in bar:
                bar.set_postfix_str(org.slug)
                total += services.recompute_passes(organization=org, horizon=timedelta(hours=hours))
        self.stdout.write(self.style.SUCCESS(f"{total} passes over the next {hours:g} h"))
