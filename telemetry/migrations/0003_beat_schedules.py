"""Beat schedules (django-celery-beat DatabaseScheduler): editable in the admin afterwards."""

import json

from django.db import migrations

SCHEDULES = [
    # name, task, every (seconds)
    ("telemetry: create partitions ahead", "telemetry.ensure_partitions", 3600),
    ("telemetry: minute roll-ups", "telemetry.roll_up", 60),
    ("telemetry: retention", "telemetry.apply_retention", 6 * 3600),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "kwargs": json.dumps({}), "enabled": True}
        )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0002_archive_partitioned"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create, remove)]
