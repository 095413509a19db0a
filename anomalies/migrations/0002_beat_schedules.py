"""Beat schedules for detection sweeps, escalation and auto-unshelve (editable in the admin)."""

from django.db import migrations

SCHEDULES = [
    ("anomalies: sweep detectors", "anomalies.sweep", 15),
    ("anomalies: escalate unacknowledged criticals", "anomalies.escalate", 30),
    ("anomalies: unshelve due alarms", "anomalies.unshelve", 30),
]


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in SCHEDULES:
        interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
