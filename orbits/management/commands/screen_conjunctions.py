from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from missionops.exceptions import DomainError
from missionops.models import Organization
from orbits.services import screening


class Command(BaseCommand):
    help = "Screen every organization's spacecraft (or one's) against the catalogue for close approaches."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug (default: all)")
        parser.add_argument("--days", type=float, help="window from now (default ORBITS_CONJUNCTION_DAYS)")
        parser.add_argument("--threshold-km", type=float, help="store approaches closer than this")
        parser.add_argument("--critical-km", type=float, help="event and alarm below this")

    def handle(self, organization=None, days=None, threshold_km=None, critical_km=None, **options):
        orgs = Organization.objects.order_by("slug")
        if organization:
            orgs = orgs.filter(slug=organization)
            if not orgs.exists():
                raise CommandError(f"no organization {organization!r}")
        total = critical = 0
        with tqdm(list(orgs), desc="screening", unit="org", file=self.stderr, disable=None) as bar:
            for org in bar:
                bar.set_postfix_str(org.slug)
                try:
                    rows = screening.screen_conjunctions(
                        organization=org, days=days, threshold_km=threshold_km, critical_km=critical_km
                    )
                except DomainError as exc:
                    raise CommandError(exc.message) from None
                total += len(rows)
                critical += sum(r.critical for r in rows)
        self.stdout.write(self.style.SUCCESS(f"{total} close approaches stored, {critical} critical"))
