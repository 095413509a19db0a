import random

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from jobs.exceptions import JobParamsError
from jobs.geo import parse_bbox
from jobs.services import submit_jobs
from missionops.exceptions import DomainError
from missionops.models import Organization


class Command(BaseCommand):
    help = "Submit a demo batch of tile jobs covering a region (a grid of footprints), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="demo", help="organization slug (default demo)")
        parser.add_argument(
            "--region", default="5,43,15,50", help="minlon,minlat,maxlon,maxlat (default central Europe)"
        )
        parser.add_argument("--count", type=int, default=24, help="number of tiles (default 24)")
        parser.add_argument("--kind", default="tile", help="job kind (tile, sleep, noop)")
        parser.add_argument("--size-px", type=int, default=512)
        parser.add_argument(
            "--input", type=int, help="id of an uploaded tile input: every tile reads its bands (no seed, no size)"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--priority", type=int, default=0)
        parser.add_argument("--chunk", type=int, default=200, help="jobs per transaction")

    def handle(self, *args, **options):
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"no organization {options['organization']!r}") from None
        try:
            west, south, east, north = parse_bbox(options["region"], field="region")
        except JobParamsError as error:
            raise CommandError(error.message) from None
        specs = list(self._specs(options, west, south, east, north))
        submitted = 0
        with tqdm(total=len(specs), unit="job", file=self.stderr, disable=None) as bar:
            for start in range(0, len(specs), options["chunk"]):
                chunk = specs[start : start + options["chunk"]]
                try:
                    submit_jobs(organization=organization, actor=None, specs=chunk)
                except DomainError as error:
                    raise CommandError(f"{error.field}: {error.message}") from None
                submitted += len(chunk)
                bar.update(len(chunk))
        self.stdout.write(f"{submitted} {options['kind']} job(s) submitted to {organization.slug}")

    def _specs(self, options, west, south, east, north):
        count = options["count"]
        columns = max(1, round(count**0.5))
        rows = -(-count // columns)
        width = ((east - west) % 360 or 360) / columns
        height = (north - south) / rows
        rng = random.Random(options["seed"])
        for k in range(count):
            r, c = divmod(k, columns)
            x0 = (west + c * width + 180) % 360 - 180
            x1 = x0 + width
            x1 = x1 - 360 if x1 > 180 else x1
            y0, y1 = south + r * height, south + (r + 1) * height
            spec = {"kind": options["kind"], "priority": options["priority"], "name": f"tile r{r}c{c}"}
            if options["kind"] == "tile":
                ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
                spec["footprint"] = {"type": "Polygon", "coordinates": [ring]}
                if options["input"] is not None:
                    spec["params"] = {"input": options["input"]}
                else:
                    spec["params"] = {"seed": rng.randrange(2**31), "size_px": options["size_px"]}
            elif options["kind"] == "sleep":
                spec["params"] = {"duration_s": 2}
            yield spec
