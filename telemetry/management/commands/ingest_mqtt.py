"""Bridge the local MQTT broker into telemetry ingest (runs until interrupted)."""

import contextlib
import signal

from django.core.management.base import BaseCommand

from telemetry.mqtt import TOPIC, Bridge


class Command(BaseCommand):
    help = f"Subscribe to {TOPIC} (QoS 1) and ingest what arrives; reconnects after a broker restart."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1883)
        parser.add_argument("--client-id", default="missionops-ingest", help="fixed id: the broker keeps our session")
        parser.add_argument("--batch-size", type=int, default=500, help="messages per ingest transaction")
        parser.add_argument("--linger", type=float, default=0.2, help="seconds to wait to fill a batch")

    def handle(self, *args, host, port, client_id, batch_size, linger, **options):
        bridge = Bridge(host=host, port=port, client_id=client_id, batch_size=batch_size, linger_s=linger)
        # A plain flag, not bridge.stopping.set(): a handler taking a lock the main thread may hold
        # (Event.set / wait) can deadlock the process.
        terminated = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: terminated.update(now=True))
        self.stderr.write(f"MQTT bridge: {host}:{port} {TOPIC} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            bridge.run_forever(until=lambda: terminated["now"])
        self.stderr.write(f"MQTT bridge stopped: {bridge.stats}")
