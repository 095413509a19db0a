import logging
import signal

from django.core.management.base import BaseCommand

from jobs.runner import JobWorker


class Command(BaseCommand):
    help = "Claim and run jobs (SKIP LOCKED), heartbeat their leases, sample this host's GPUs, sweep dead leases."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1, help="jobs claimed per transaction (default 1)")
        parser.add_argument("--kinds", default="", help="comma-separated job kinds to run (default all)")
        parser.add_argument(
            "--lease-s", type=float, default=30.0, help="lease length; a silent worker loses its job after it"
        )
        parser.add_argument(
            "--heartbeat-s", type=float, default=1.0, help="heartbeat period; also how fast a cancel is seen"
        )
        parser.add_argument("--poll-s", type=float, default=0.5, help="sleep between empty claims")
        parser.add_argument("--sample-s", type=float, default=5.0, help="GPU sampling period (0: off)")
        parser.add_argument("--sweep-s", type=float, default=10.0, help="lease sweep period (0: off)")
        parser.add_argument("--host", default=None, help="host name owning the GPU slots (default: this machine)")
        parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
        parser.add_argument("--exit-when-idle-s", type=float, default=None, help="exit after this long without work")
        parser.add_argument("--no-skip-locked", action="store_true", help="plain FOR UPDATE (benchmark peer)")

    def handle(self, *args, **options):
        logging.getLogger("jobs").setLevel(logging.INFO if options["verbosity"] >= 1 else logging.WARNING)
        worker = JobWorker(
            host=options["host"],
            lease_s=options["lease_s"],
            heartbeat_s=options["heartbeat_s"],
            batch=options["batch"],
            kinds=[k for k in options["kinds"].split(",") if k] or None,
            poll_s=options["poll_s"],
            sample_s=options["sample_s"],
            sweep_s=options["sweep_s"],
            max_jobs=options["max_jobs"],
            exit_when_idle_s=options["exit_when_idle_s"],
            skip_locked=not options["no_skip_locked"],
        )
        # SIGTERM / Ctrl-C: finish the job in hand, then exit (its lease covers it meanwhile).
        signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
        signal.signal(signal.SIGINT, lambda *_: worker.request_stop())
        done = worker.run()
        self.stderr.write(f"worker {worker.name}: {done} job(s) finished")
