from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orbits import catalogue_sync
from orbits.exceptions import CatalogueFormatError, CatalogueSyncError
from orbits.models import CatalogueObject


class Command(BaseCommand):
    help = (
        "Fetch the catalogue from CelesTrak's GP API (groups or a catalogue number, JSON/XML/TLE) or "
        "Space-Track (gp), respecting their rate limits (each query at most once per 2 h, conditional requests)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=["celestrak", "spacetrack", "configured"], default="configured")
        parser.add_argument("--group", action="append", help="CelesTrak group (repeatable), e.g. active, stations")
        parser.add_argument("--catnr", type=int, action="append", help="CelesTrak catalogue number (repeatable)")
        parser.add_argument("--format", choices=sorted(catalogue_sync.FORMATS), default="json")

    def handle(self, source="configured", group=None, catnr=None, format="json", **options):
        queries = [("group", g) for g in group or []] + [("catnr", n) for n in catnr or []]
        if source == "celestrak" and not queries:
            raise CommandError("give --group or --catnr")
        before = CatalogueObject.objects.count()
        results = []
        with tqdm(total=max(len(queries), 1), desc="catalogue", unit="query", file=self.stderr, disable=None) as bar:
            try:
                if source == "celestrak":
                    for kind, value in queries:
                        bar.set_postfix_str(f"{kind}={value}")
                        results.append(catalogue_sync.sync_celestrak(**{kind: value}, fmt=format))
                        bar.update()
                elif source == "spacetrack":
                    results = catalogue_sync.sync_spacetrack()
                    bar.update()
                else:
                    results = catalogue_sync.sync_configured(progress=lambda r: bar.set_postfix_str(r.query))
                    bar.update()
            except (CatalogueSyncError, CatalogueFormatError) as exc:
                raise CommandError(exc.message) from None
        for r in results:
            line = f"{r.source} {r.query}: {r.status}" + (f", {r.stored} objects" if r.status == "stored" else "")
            self.stdout.write(line + (f" ({r.detail})" if r.detail else ""))
        self.stdout.write(self.style.SUCCESS(f"catalogue: {before} -> {CatalogueObject.objects.count()} objects"))
