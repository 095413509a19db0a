from django.core.management.base import BaseCommand

from jobs.services import sweep_expired_leases


class Command(BaseCommand):
    help = "Re-queue (or fail) running jobs whose lease expired: their worker died or hung."

    def handle(self, *args, **options):
        swept = sweep_expired_leases()
        for job in swept:
            self.stdout.write(f"job {job.pk}: lease expired -> {job.state} (attempt {job.attempts}/{job.max_attempts})")
        self.stdout.write(f"{len(swept)} job(s) swept")
