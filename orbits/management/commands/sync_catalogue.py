from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orbits.exceptions import CatalogueFormatError, CatalogueSyncError
from orbits.models import TLE, CatalogueObject
from orbits.services import catalogue_sync


def since_date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--since: {text!r} is not a date (e.g. 2024-03-01 or 2024-03-01T12:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Fetch the catalogue from CelesTrak's GP API (groups or a catalogue number, JSON/XML/TLE) or "
        "Space-Track (gp; gp_history of one object into the element-set history with --history), "
        "respecting their rate limits (each query at most once per interval, conditional requests, "
        "Space-Track's 30 requests a minute and 300 an hour counted for every worker). "
        "A bad payload is refused whole: nothing of it is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=["celestrak", "spacetrack", "configured"], default="configured")
        parser.add_argument("--group", action="append", help="CelesTrak group (repeatable), e.g. active, stations")
        parser.add_argument("--catnr", type=int, action="append", help="CelesTrak catalogue number (repeatable)")
        parser.add_argument("--format", choices=sorted(catalogue_sync.FORMATS), default="json")
        parser.add_argument(
            "--history",
            type=int,
            action="append",
            metavar="NORAD",
            help="Space-Track gp_history of this NORAD id into the element-set history of every organization "
            "flying it (repeatable; implies --source spacetrack)",
        )
        parser.add_argument(
            "--since",
            type=since_date,
            help="with --history: sets with epochs after this date (default: the newest stored)",
        )

    def handle(self, source="configured", group=None, catnr=None, format="json", history=None, since=None, **options):
        queries = [("group", g) for g in group or []] + [("catnr", n) for n in catnr or []]
        if history:
            if queries or source == "celestrak":
                raise CommandError("--history is a Space-Track query: give it without --group/--catnr")
            source = "spacetrack"
            queries = [("history", n) for n in history]
        elif since is not None:
            raise CommandError("--since goes with --history")
        if source == "celestrak" and not queries:
            raise CommandError("give --group or --catnr")
        if source == "spacetrack" and not queries:
            queries = [("gp", None)]
        if source == "configured":
            queries = [(kind, value) for _, kind, value in catalogue_sync.planned_queries()]
        before, sets_before = CatalogueObject.objects.count(), TLE.objects.count()
        results = []
        with tqdm(total=len(queries), desc="catalogue", unit="query", file=self.stderr, disable=None) as bar:
            try:
                if source == "configured":
                    results = catalogue_sync.sync_configured(
                        progress=lambda r: (bar.set_postfix_str(r.query), bar.update())
                    )
                else:
                    client = catalogue_sync.SpaceTrack() if source == "spacetrack" else None
                    for kind, value in queries:
                        bar.set_postfix_str(f"{kind}={value}" if value is not None else kind)
                        if kind == "gp":
                            results += catalogue_sync.sync_spacetrack(client=client)
                        elif kind == "history":
                            results.append(
                                catalogue_sync.sync_spacetrack_history(norad_id=value, since=since, client=client)
                            )
                        else:
                            results.append(catalogue_sync.sync_celestrak(**{kind: value}, fmt=format))
                        bar.update()
            except (CatalogueSyncError, CatalogueFormatError) as exc:
                raise CommandError(exc.message) from None
        for r in results:
            line = f"{r.source} {r.query}: {r.status}" + (f", {r.stored} objects" if r.status == "stored" else "")
            self.stdout.write(line + (f" ({r.detail})" if r.detail else ""))
        self.stdout.write(
            self.style.SUCCESS(
                f"catalogue: {before} -> {CatalogueObject.objects.count()} objects; "
                f"element-set history: {sets_before} -> {TLE.objects.count()} sets"
            )
        )
