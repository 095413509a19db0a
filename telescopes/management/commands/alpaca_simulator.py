"""Run the PyPI Alpaca simulators (all ten device types) for the demo observatory, with a local star
catalogue, and register their devices: `make run` starts this so the Telescopes page has devices."""

import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Start Alpaca simulators on 127.0.0.1:PORT and register them with the demo observatory."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=11111)

    def handle(self, *args, port, **options):
        try:
            from telescopes.simulators import SIMULATOR, SimulatorProcess
        except ImportError as error:
            raise CommandError("alpaca-simulators is a development dependency: make dev-deps") from error
        if not SIMULATOR.exists():
            raise CommandError(f"{SIMULATOR} not found: install requirements/dev.txt")
        workdir = Path(tempfile.mkdtemp(prefix="missionops-alpaca-"))
        simulator = SimulatorProcess(workdir, port=port).start()
        self.stdout.write(f"Alpaca simulators on 127.0.0.1:{port} (log {simulator.log})")
        call_command("seed_demo", "--alpaca-simulator", f"127.0.0.1:{port}", stdout=self.stdout, stderr=self.stderr)
        try:
            while simulator.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()
