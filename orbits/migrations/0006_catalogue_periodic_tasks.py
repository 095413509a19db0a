"""Beat schedules for the catalogue: a sync every 2 h (each source's published rate limit:
at most once per group per 2 h; a sync screens conjunctions when it is done), and a screening
every 6 h for organizations whose catalogue comes from files."""

from django.db import migrations

from missionops.beat import schedules_operation

SCHEDULES = [
    ("orbits: sync catalogue", "orbits.sync_catalogue", 7200),
    ("orbits: screen conjunctions", "orbits.screen_conjunctions", 21600),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orbits", "0005_catalogue_conjunctions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_operation(SCHEDULES)]
