"""The catalogue sync runs every 2 h 10 min: a little longer than the minimum interval between
two queries of a source (2 h, CelesTrak's published rule), so that a beat arriving a few
seconds early never finds the interval unfinished and skips a whole period."""

from django.db import migrations

NAME = "orbits: sync catalogue"
OLD_S, NEW_S = 7200, 7800


def _move(apps, old_s: int, new_s: int) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = interval_model.objects.get_or_create(every=new_s, period="seconds")
    # Only a schedule still at its old period: one changed in the admin is the operator's.
    task_model.objects.filter(name=NAME, interval__every=old_s, interval__period="seconds").update(interval=interval)


class Migration(migrations.Migration):
    dependencies = [("orbits", "0006_catalogue_periodic_tasks")]

    operations = [
        migrations.RunPython(lambda apps, _: _move(apps, OLD_S, NEW_S), lambda apps, _: _move(apps, NEW_S, OLD_S))
    ]
