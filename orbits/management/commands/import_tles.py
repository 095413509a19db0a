import urllib.request
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from missionops.models import Organization
from orbits import services


class Command(BaseCommand):
    help = "Import TLE (2-/3-line) or OMM JSON element sets from a file or URL, matching NORAD ids."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a file path, or an http(s):// URL")
        parser.add_argument("--organization", help="organization slug (default: the only one)")
        parser.add_argument("--create-missing", action="store_true", help="register spacecraft for unknown NORAD ids")
        parser.add_argument("--timeout", type=float, default=20.0, help="URL fetch timeout in seconds")

    def handle(self, source, organization=None, create_missing=False, timeout=20.0, **options):
        orgs = Organization.objects.all()
        if organization:
            orgs = orgs.filter(slug=organization)
        if orgs.count() != 1:
            raise CommandError(
                "name the organization with --organization SLUG"
                if not organization
                else f"no organization {organization!r}"
            )
        if source.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310 - operator-given URL
                    text = response.read().decode("utf-8")
            except OSError as exc:
                raise CommandError(f"cannot fetch {source}: {exc}") from exc
        else:
            path = Path(source)
            if not path.is_file():
                raise CommandError(f"no such file: {source}")
            text = path.read_text(encoding="utf-8", errors="replace")
        report = services.import_tles(organization=orgs.get(), text=text, source=source, create_missing=create_missing)
        for name in report.created_spacecraft:
            self.stdout.write(f"registered spacecraft {name}")
        for item in report.imported:
            self.stdout.write(f"imported {item['norad_id']} epoch {item['epoch']} ({item['location']})")
        for item in report.unchanged:
            self.stdout.write(f"unchanged {item['norad_id']} epoch {item['epoch']} ({item['location']})")
        for item in report.refused:
            self.stderr.write(f"refused {item['location']}: {item['reason']}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.imported)} imported, {len(report.unchanged)} unchanged, {len(report.refused)} refused"
            )
        )
        if report.refused and not report.imported and not report.unchanged:
            raise CommandError("nothing could be imported")
