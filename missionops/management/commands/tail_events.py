"""Follow an organization's events on the JetStream stream (a live consumer), or replay them."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from missionops.models import Organization
from missionops.services import event_stream


class Command(BaseCommand):
    help = "Print an organization's events from the NATS JetStream stream as they arrive (one JSON per line)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--kind", default="", help="exact kind, or a prefix ending in '.'")
        start = parser.add_mutually_exclusive_group()
        start.add_argument("--from-sequence", type=int, help="replay from this stream sequence")
        start.add_argument("--since", help="replay from this time (ISO 8601 with offset)")
        parser.add_argument("--count", type=int, help="exit after this many events")
        parser.add_argument("--idle-exit-s", type=float, help="exit after this long without an event")

    def handle(self, *args, org, kind, from_sequence, since, count, idle_exit_s, **options):
        if not event_stream.stream_enabled():
            raise CommandError("NATS_URL is not set: the event stream is off")
        if not Organization.objects.filter(slug=org).exists():
            raise CommandError(f"no organization {org!r}")
        if from_sequence is not None and from_sequence < 1:
            raise CommandError("--from-sequence must be 1 or more")
        start_time = None
        if since:
            start_time = parse_datetime(since)
            if start_time is None or start_time.tzinfo is None:
                raise CommandError("--since must be ISO 8601 with an offset, e.g. 2026-01-01T00:00:00Z")
        seen = 0
        try:
            for item in event_stream.stream_events(
                organization_slug=org,
                kind=kind,
                start_sequence=from_sequence,
                start_time=start_time,
                idle_timeout_s=idle_exit_s,
            ):
                self.stdout.write(json.dumps({"sequence": item.sequence, "subject": item.subject, **item.event}))
                self.stdout.flush()
                seen += 1
                if count is not None and seen >= count:
                    break
        except event_stream.StreamUnavailable as error:
            raise CommandError(str(error)) from error
        except KeyboardInterrupt:
            pass
