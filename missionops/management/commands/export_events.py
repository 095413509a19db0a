"""Export the event log as JSON lines or CSV, with the same filters as the API."""

import csv
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from missionops.models import Event, Organization
from missionops.replicas import replica_reads
from missionops.representations import EventSerializer, represent


class Command(BaseCommand):
    help = "Export an organization's events (newest last) to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--kind", help="exact kind, or a prefix ending in '.'")
        parser.add_argument("--spacecraft", help="spacecraft UUID")
        parser.add_argument("--since", help="ISO 8601 with offset")
        parser.add_argument("--until", help="ISO 8601 with offset")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--output", "-o", help="file (default: stdout)")

    def handle(self, *args, org, kind, spacecraft, since, until, format, output, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization {org!r}")
        events = (
            Event.objects.filter(organization=organization).select_related("organization").order_by("created_at", "id")
        )
        if kind:
            events = events.filter(kind__startswith=kind) if kind.endswith(".") else events.filter(kind=kind)
        if spacecraft:
            events = events.filter(spacecraft_id=spacecraft)
        for name, value, lookup in (("since", since, "created_at__gte"), ("until", until, "created_at__lt")):
            if value:
                moment = parse_datetime(value)
                if moment is None or moment.tzinfo is None:
                    raise CommandError(f"--{name} must be ISO 8601 with an offset, e.g. 2026-01-01T00:00:00Z")
                events = events.filter(**{lookup: moment})
        if not output:
            self.stdout.ending = ""  # write rows verbatim: they carry their own line endings
        stream = open(output, "w", newline="") if output else self.stdout  # noqa: SIM115 - closed below
        with replica_reads():  # an export tolerates replica lag (under REPLICA_MAX_LAG_S)
            try:
                writer = csv.writer(stream) if format == "csv" else None
                if writer:
                    writer.writerow(
                        [
                            "created_at",
                            "kind",
                            "subject_type",
                            "subject_id",
                            "subject",
                            "spacecraft",
                            "actor",
                            "payload",
                        ]
                    )
                total = events.count()
                for event in tqdm(
                    events.iterator(chunk_size=2000), total=total, unit="event", file=self.stderr, disable=None
                ):
                    message = represent(EventSerializer, event)
                    if writer:
                        writer.writerow(
                            [
                                message["created_at"],
                                message["kind"],
                                message["subject_type"],
                                message["subject_id"],
                                message["subject"],
                                message["spacecraft"] or "",
                                message["actor"],
                                json.dumps(message["payload"]),
                            ]
                        )
                    else:
                        stream.write(json.dumps(message) + "\n")
            finally:
                if output:
                    stream.close()
        if output:
            self.stderr.write(f"wrote {total} events to {output}")
