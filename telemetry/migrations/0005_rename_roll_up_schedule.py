"""The beat entry of `telemetry.roll_up` (made by 0003) is renamed: since 0004 the task builds the
hour roll-ups too. The row is renamed in place, so its interval, enabled flag and run history stay
as an operator left them, and beat finds one entry, not two. Nothing is created where the entry is
gone (an operator deleted it)."""

from django.db import migrations
from django.utils import timezone

OLD, NEW = "telemetry: minute roll-ups", "telemetry: minute and hour roll-ups"


def rename(old: str, new: str):
    def run(apps, schema_editor):
        periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
        if not periodic_task.objects.filter(name=old).exists():
            return
        if periodic_task.objects.filter(name=new).exists():
            periodic_task.objects.filter(name=old).delete()  # made under the new name already: keep that one
        else:
            periodic_task.objects.filter(name=old).update(name=new)
        # A running beat reloads its entries when this changes (PeriodicTask.save does it; update() does not).
        apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()}
        )

    return run


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0004_hour_rollup"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(rename(OLD, NEW), rename(NEW, OLD))]
