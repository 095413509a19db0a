"""Beat schedules for detection sweeps, escalation and auto-unshelve (editable in the admin)."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    ("anomalies: sweep detectors", "anomalies.sweep", 15),
    ("anomalies: escalate unacknowledged criticals", "anomalies.escalate", 30),
    ("anomalies: unshelve due alarms", "anomalies.unshelve", 30),
]


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [schedules_operation(SCHEDULES)]
