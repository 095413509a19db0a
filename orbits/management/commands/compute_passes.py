from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from missionops.exceptions import DomainError
from missionops.models import Organization
from orbits import passes, predictions, services
from orbits.models import GroundStation
from spacecraft.models import Spacecraft


class Command(BaseCommand):
    help = (
        "Recompute the stored passes (all spacecraft × stations) of every organization, or one; with "
        "--start and --end, print the passes of a chosen window instead (computed now, not stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug (default: all)")
        parser.add_argument("--hours", type=float, default=48.0, help="horizon in hours (default 48)")
        parser.add_argument("--start", help="ISO time with offset: predict [start, end] (at most 31 days)")
        parser.add_argument("--end", help="ISO time with offset")
        parser.add_argument("--spacecraft", help="designation (with --start/--end; default: all with a TLE)")
        parser.add_argument("--station", help="station name (with --start/--end; default: all)")
        parser.add_argument("--allow-stale", action="store_true", help="predict past the element-set age limit")

    def handle(self, organization=None, hours=48.0, start=None, end=None, **options):
        orgs = Organization.objects.order_by("slug")
        if organization:
            orgs = orgs.filter(slug=organization)
            if not orgs.exists():
                raise CommandError(f"no organization {organization!r}")
        if start or end:
            return self.predict(orgs, start, end, options)
        if not 0 < hours <= 24 * 14:
            raise CommandError("--hours must be between 0 and 336")
        total = 0
        with tqdm(list(orgs), desc="passes", unit="org", file=self.stderr, disable=None) as bar:
            for org in bar:
                bar.set_postfix_str(org.slug)
                total += services.recompute_passes(organization=org, horizon=timedelta(hours=hours))
        self.stdout.write(self.style.SUCCESS(f"{total} passes over the next {hours:g} h"))

    def predict(self, orgs, start, end, options):
        times = []
        for name, raw in (("--start", start), ("--end", end)):
            parsed = parse_datetime(raw or "")
            if parsed is None or parsed.tzinfo is None:
                raise CommandError(f"{name}: give an ISO time with an offset, e.g. 2024-03-20T06:00:00Z")
            times.append(parsed)
        start, end = times
        fleet = Spacecraft.objects.filter(organization__in=orgs, tles__isnull=False).distinct().order_by("designation")
        stations = GroundStation.objects.filter(organization__in=orgs).order_by("name")
        if options["spacecraft"]:
            fleet = fleet.filter(designation=options["spacecraft"])
        if options["station"]:
            stations = stations.filter(name=options["station"])
        if not fleet.exists() or not stations.exists():
            raise CommandError("no spacecraft with a TLE, or no station, matches")
        count = 0
        pairs = [(sc, st) for sc in fleet for st in stations if st.organization_id == sc.organization_id]
        for spacecraft, station in tqdm(pairs, desc="passes", unit="pair", file=self.stderr, disable=None):
            site = passes.Station(
                station.latitude_deg, station.longitude_deg, station.altitude_m, station.min_elevation_deg
            )
            try:
                result = predictions.predict_passes(
                    spacecraft=spacecraft, station=site, start=start, end=end, allow_stale=options["allow_stale"]
                )
            except DomainError as exc:
                raise CommandError(f"{spacecraft.designation} over {station.name}: {exc.message}") from None
            self.stdout.write(f"{spacecraft.designation} over {station.name}")
            for use in result.element_sets:
                self.stdout.write(
                    f"  element set {use.tle.pk} epoch {use.tle.epoch:%Y-%m-%d %H:%M:%S} ({use.age_days:.1f} days)"
                )
            for warning in result.warnings:
                self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
            for pk, error in result.sgp4_errors.items():
                self.stdout.write(self.style.WARNING(f"  SGP4 stopped ({error['error']}) with element set {pk}"))
            for p in result.passes:
                marks = " ".join(
                    mark
                    for mark, on in (
                        ("continuous", p.continuous),
                        ("cut-at-start", p.cut_at_start),
                        ("cut-at-end", p.cut_at_end),
                        ("sgp4-end", p.sgp4_end),
                    )
                    if on
                )
                self.stdout.write(
                    f"  {p.aos:%Y-%m-%d %H:%M:%S} {p.tca:%H:%M:%S} {p.los:%Y-%m-%d %H:%M:%S} "
                    f"{p.max_elevation_deg:5.1f}° {marks}".rstrip()
                )
            count += len(result.passes)
        self.stdout.write(self.style.SUCCESS(f"{count} passes from {start.isoformat()} to {end.isoformat()}"))
