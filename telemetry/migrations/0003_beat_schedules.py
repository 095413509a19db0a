"""Beat schedules (django-celery-beat DatabaseScheduler): editable in the admin afterwards."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    # name, task, every (seconds)
    ("telemetry: create partitions ahead", "telemetry.ensure_partitions", 3600),
    ("telemetry: minute roll-ups", "telemetry.roll_up", 60),
    ("telemetry: retention", "telemetry.apply_retention", 6 * 3600),
]


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0002_archive_partitioned"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [schedules_operation(SCHEDULES)]
