"""Beat schedules for the command queue (editable afterwards in the admin)."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    ("commands: expire unacknowledged", "spacecraft.tasks.expire_unacknowledged_commands", 5),
    ("commands: release at contact", "spacecraft.tasks.release_commands_at_contact", 10),
]


class Migration(migrations.Migration):
    dependencies = [
        ("spacecraft", "0002_commands_documents"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [schedules_operation(SCHEDULES)]
