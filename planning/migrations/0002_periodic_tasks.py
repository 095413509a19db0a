"""Beat schedules of the planning app (django-celery-beat DatabaseScheduler), editable in the admin."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    # name, task, every seconds
    ("planning: advance plans", "planning.advance_plans", 10),
    ("planning: re-plan on triggers", "planning.replan", 60),
]


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_operation(SCHEDULES)]
