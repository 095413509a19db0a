"""Beat schedules for device checks, the component registry and stuck operations (editable in the admin)."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    ("telescopes: check devices", "telescopes.tasks.check_devices", 30),
    ("health: sweep component heartbeats", "telescopes.tasks.sweep_components", 15),
    ("telescopes: end stuck operations", "telescopes.tasks.sweep_operations", 30),
]


class Migration(migrations.Migration):
    dependencies = [
        ("telescopes", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [schedules_operation(SCHEDULES)]
