"""Relay the event outbox to NATS JetStream continuously (woken by NOTIFY on each new event)."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from missionops.services import event_stream


class Command(BaseCommand):
    help = "Publish events from the outbox to the JetStream stream as they are committed (exactly once)."

    def add_arguments(self, parser):
        parser.add_argument("--poll-s", type=float, default=5.0, help="longest wait without a notification")
        parser.add_argument("--once", action="store_true", help="relay what is pending, then exit")

    def handle(self, *args, poll_s, once, **options):
        if not event_stream.stream_enabled():
            raise CommandError("NATS_URL is not set: the event stream is off")
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        client, total, announced = event_stream.StreamClient(name="missionops-relay"), 0, False
        try:
            while not stopping:
                try:
                    client.connect()
                    if not announced:
                        self.stderr.write(f"relaying the event outbox to {client.url} ({settings.NATS_STREAM})")
                        announced = True
                    result = event_stream.relay_all(client=client)
                except event_stream.StreamUnavailable as error:
                    self.stderr.write(f"event stream unavailable: {error}; retrying")
                    time.sleep(min(poll_s, 1.0))
                    continue
                total += result.published
                if result.published and options["verbosity"] >= 2:
                    self.stderr.write(f"relayed {result.published} ({result.duplicates} already in the stream)")
                if once:
                    break
                if result.failed:
                    time.sleep(min(poll_s, 1.0))
                else:
                    # In slices, so SIGTERM is seen within a second (a wait for NOTIFY ignores signals).
                    deadline = time.monotonic() + poll_s
                    while not stopping and time.monotonic() < deadline:
                        if event_stream.wait_for_outbox(min(1.0, max(0.0, deadline - time.monotonic()))):
                            break
        finally:
            client.close()
            connection.close()
        self.stderr.write(f"relayed {total} event(s)")
