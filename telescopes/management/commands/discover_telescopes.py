"""Discover the Alpaca devices of observatories and register them."""

from django.core.management.base import BaseCommand, CommandError

from telescopes.exceptions import TelescopeError
from telescopes.models import Observatory
from telescopes.services import discover_devices


class Command(BaseCommand):
    help = (
        "Send Alpaca UDP discovery to each observatory's configured hosts / interface (never a broadcast "
        "on every interface), read each server's devices (management API, else probing) and register them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--observatory", type=int, action="append", help="observatory id (repeatable); default all")
        parser.add_argument("--hosts", default="", help="extra discovery targets for this run: host[:port],...")
        parser.add_argument(
            "--server", action="append", default=[], help="an Alpaca server host:port to read directly (repeatable)"
        )
        parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for discovery answers")

    def handle(self, *args, **options):
        observatories = Observatory.objects.select_related("organization").order_by("pk")
        if options["observatory"]:
            observatories = observatories.filter(pk__in=options["observatory"])
            if observatories.count() != len(set(options["observatory"])):
                raise CommandError("unknown observatory id")
        servers = []
        for item in options["server"]:
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit():
                raise CommandError(f"--server wants host:port, not {item!r}")
            servers.append((host.strip("[]"), int(port)))
        failures = 0
        for observatory in observatories:
            self.stderr.write(f"{observatory.name}: discovering…")
            try:
                report = discover_devices(
                    observatory=observatory,
                    extra_targets=options["hosts"],
                    servers=servers,
                    timeout_s=options["timeout"],
                )
            except TelescopeError as error:
                failures += 1
                self.stderr.write(f"{observatory.name}: {error.message}")
                continue
            self.stdout.write(
                f"{observatory.name}: {len(report.servers)} server(s) {', '.join(report.servers) or '-'}; "
                f"{len(report.registered)} device(s) registered, {len(report.known)} already known"
            )
            for error in report.errors:
                self.stderr.write(f"  {error}")
        if failures and failures == observatories.count():
            raise CommandError("nothing discovered: configure discovery hosts on the observatories or pass --hosts")
