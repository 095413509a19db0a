"""Stream live simulated telemetry for a fleet through the real ingest path, injecting faults."""

import datetime as dt
import json
import random
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from missionops.exceptions import DomainError
from missionops.models import Organization
from spacecraft.models import Spacecraft
from telemetry import services
from telemetry.models import FaultKind, Interface
from telemetry.simulator import SpacecraftSimulator


class Command(BaseCommand):
    help = (
        "Stream simulated telemetry for an organization's fleet at --rate snapshots/s per spacecraft, "
        "through telemetry.services.ingest, with fault injection logged as JSON lines (and stored as "
        "InjectedFault rows)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="demo", help="organization slug (default: demo)")
        parser.add_argument("--spacecraft", default="", help="comma-separated designations (default: all)")
        parser.add_argument("--rate", type=float, default=1.0, help="snapshots per second per spacecraft")
        parser.add_argument("--duration", type=float, default=0, help="seconds to run (0: until interrupted)")
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=1 / 900,
            help="faults per spacecraft-second (0 disables); the default, one per spacecraft every 15 minutes, "
            "shows a fault every few minutes on the demo fleet and stays under the alarm-flood rate",
        )
        parser.add_argument("--fault", choices=FaultKind.values, help="inject only this kind of fault")
        parser.add_argument("--fault-log", default="", help="append the fault log (JSON lines) to this file")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, organization, spacecraft, rate, duration, fault_rate, fault, fault_log, seed, **opts):
        if rate <= 0:
            raise CommandError("--rate must be positive")
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"no organization {organization!r} (run manage.py seed_demo)")
        fleet = Spacecraft.objects.filter(organization=org).order_by("designation")
        if spacecraft:
            fleet = fleet.filter(designation__in=[d.strip() for d in spacecraft.split(",")])
        fleet = list(fleet)
        if not fleet:
            raise CommandError("no spacecraft to simulate")
        rng = random.Random(seed)
        simulators = [
            SpacecraftSimulator(sc, (sc.current_config.parameters if sc.current_config else {}), seed=rng.random())
            for sc in fleet
        ]
        log_file = open(fault_log, "a") if fault_log else None  # noqa: SIM115 - lives as long as the loop
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        scope = services.organization_scope(org)
        period = 1.0 / rate
        started, ticks, samples = time.monotonic(), 0, 0
        self.stderr.write(f"simulating {len(fleet)} spacecraft of {org.slug} at {rate:g} Hz (Ctrl-C stops)")
        try:
            while not stop["now"] and (not duration or time.monotonic() - started < duration):
                moment = dt.datetime.now(dt.UTC)
                for sim in simulators:
                    if fault_rate and rng.random() < fault_rate * period:
                        self._inject(sim, moment, fault, log_file)
                snapshots = [sim.snapshot(moment) for sim in simulators]
                if not connection.in_atomic_block:  # a long-lived loop: drop a connection the server closed
                    close_old_connections()
                try:
                    result = services.ingest(snapshots=snapshots, scope=scope, interface=Interface.SIMULATOR)
                    samples += result.stored
                except DomainError as error:
                    self.stderr.write(f"ingest refused: {error.message}")
                ticks += 1
                time.sleep(max(0.0, started + ticks * period - time.monotonic()))
        except KeyboardInterrupt:
            pass
        finally:
            if log_file:
                log_file.close()
        self.stderr.write(f"simulator stopped after {ticks} ticks, {samples} samples stored")

    def _inject(self, sim, moment, kind, log_file):
        fault = sim.inject(moment=moment, kind=kind)
        services.record_injected_fault(spacecraft=sim.spacecraft, fault=fault)
        line = json.dumps(
            {
                "spacecraft": sim.spacecraft.designation,
                "parameter": fault.parameter,
                "kind": str(fault.kind),
                "started_at": fault.started_at.isoformat(),
                "ended_at": fault.ended_at.isoformat(),
                "magnitude": fault.magnitude,
            }
        )
        self.stdout.write(line)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()
