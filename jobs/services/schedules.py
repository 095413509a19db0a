"""Beat schedules of the job queue (django-celery-beat PeriodicTask rows, editable in the admin)
and cron schedules for job templates."""

import json

from django.db import transaction

from ..exceptions import JobParamsError

SWEEP_TASK = "jobs.tasks.sweep_leases"
TEMPLATE_TASK = "jobs.tasks.submit_template"


def ensure_periodic_tasks(*, sender=None, **kwargs) -> None:
    """Idempotent: the lease sweeper every 10 s (kept if an admin changed or disabled it)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_10s, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(
        name="jobs: sweep expired leases",
        defaults={"task": SWEEP_TASK, "interval": every_10s, "description": "re-queue jobs of dead workers"},
    )


def parse_cron(expression: str) -> dict:
    """A 5-field cron expression as crontab fields; JobParamsError naming `cron` otherwise."""
    fields = expression.split()
    if len(fields) != 5:
        raise JobParamsError("cron needs 5 fields: minute hour day-of-month month day-of-week", field="cron")
    from celery.schedules import crontab

    names = ["minute", "hour", "day_of_month", "month_of_year", "day_of_week"]
    values = dict(zip(names, fields, strict=True))
    try:
        crontab(**values)
    except Exception as error:
        raise JobParamsError(f"bad cron expression: {error}", field="cron") from None
    return values


@transaction.atomic
def set_template_schedule(*, template, cron: str | None) -> None:
    """Run `template` on a cron schedule (UTC), or stop (cron None/empty)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if not cron:
        if template.periodic_task_id:
            task = template.periodic_task
            template.periodic_task = None
            template.save(update_fields=["periodic_task"])
            task.delete()
        return
    schedule, _ = CrontabSchedule.objects.get_or_create(**parse_cron(cron), timezone="UTC")
    kwargs = json.dumps({"template_id": template.pk})
    name = f"jobs: template {template.pk} ({template.organization.slug}/{template.name})"[:200]
    if template.periodic_task_id:
        task = template.periodic_task
        task.crontab, task.interval, task.name, task.kwargs, task.enabled = schedule, None, name, kwargs, True
        task.save()
    else:
        task = PeriodicTask.objects.create(name=name, task=TEMPLATE_TASK, crontab=schedule, kwargs=kwargs)
        template.periodic_task = task
        template.save(update_fields=["periodic_task"])


def cron_of(template) -> str:
    """A template's cron expression ("" without a schedule)."""
    task = template.periodic_task
    if task is None or task.crontab is None:
        return ""
    c = task.crontab
    return f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
