"""Beat schedules created by migrations (django-celery-beat's DatabaseScheduler; editable in the
admin afterwards). Each app's migration lists (name, task, every_seconds) and calls these."""

from django.db import migrations


def schedules_operation(schedules: list[tuple[str, str, int]]) -> migrations.RunPython:
    """A RunPython that creates the interval schedules (idempotently) and removes them on reverse."""

    def create(apps, schema_editor):
        interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
        task_model = apps.get_model("django_celery_beat", "PeriodicTask")
        for name, task, seconds in schedules:
            interval, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
            task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})

    def remove(apps, schema_editor):
        names = [name for name, _, _ in schedules]
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()

    return migrations.RunPython(create, remove)
