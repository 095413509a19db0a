"""Beat schedules of the orbits app (django-celery-beat DatabaseScheduler), editable in the admin."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    # name, task, every seconds
    ("orbits: propagate fleet", "orbits.propagate_fleet", 5),
    ("orbits: announce passes", "orbits.announce_passes", 10),
    ("orbits: compute passes", "orbits.compute_passes", 3600),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orbits", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_operation(SCHEDULES)]
