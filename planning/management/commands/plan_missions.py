from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from missionops.exceptions import DomainError
from missionops.models import Organization
from planning import services

STEPS = 5  # the progress messages compute_plan reports per organization


class Command(BaseCommand):
    help = "Compute the mission plan (imaging slots and downlinks) of every organization, or one, from now."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="organization slug (default: all)")
        parser.add_argument("--hours", type=float, default=72.0, help="horizon in hours (default 72)")
        parser.add_argument(
            "--time-limit",
            type=float,
            default=services.DEFAULT_TIME_LIMIT_S,
            help="CP-SAT time limit per organization, s",
        )
        parser.add_argument("--only-triggered", action="store_true", help="only organizations whose plan is stale")

    def handle(
        self, organization=None, hours=72.0, time_limit=services.DEFAULT_TIME_LIMIT_S, only_triggered=False, **options
    ):
        orgs = list(Organization.objects.order_by("slug"))
        if organization:
            orgs = [o for o in orgs if o.slug == organization]
            if not orgs:
                raise CommandError(f"no organization {organization!r}")
        with tqdm(total=len(orgs) * STEPS, desc="planning", unit="step", file=self.stderr, disable=None) as bar:
            for org in orgs:
                reasons = services.triggers_since_last_plan(org)
                if only_triggered and not reasons:
                    bar.update(STEPS)
                    continue

                def progress(message, org=org):
                    bar.set_postfix_str(f"{org.slug}: {message}"[:70])
                    bar.update(1)

                try:
                    plan = services.compute_plan(
                        organization=org,
                        trigger="plan_missions" + (f" ({', '.join(reasons)})" if reasons else ""),
                        horizon=timedelta(hours=hours),
                        time_limit_s=time_limit,
                        progress=progress,
                    )
                except DomainError as error:
                    raise CommandError(f"{error.field or 'input'}: {error.message}") from None
                bound = "–" if plan.bound is None else round(plan.bound)
                self.stdout.write(
                    f"{org.slug}: plan {plan.pk}, value {plan.value} (greedy {plan.greedy_value}, bound {bound}), "
                    f"{plan.slots.count()} imaging slots, {plan.downlinks.count()} downlinks, "
                    f"{plan.solver} {plan.status} in {plan.wall_s:.1f} s"
                )
        self.stdout.write(self.style.SUCCESS(f"planned {len(orgs)} organization(s) over {hours:g} h"))
