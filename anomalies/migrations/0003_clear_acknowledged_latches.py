"""Clear latches held by acknowledged alarms.

An alarm acknowledged, shelved, back to normal while shelved and unshelved came back acknowledged
but still latched: never cleared, not acknowledgeable again, and a later excursion was merged into
it instead of opening an alarm that pages. Detection and unshelve no longer make such rows; this
clears the ones already there (at the migration's time: when the condition ended is not known)."""

from django.db import migrations
from django.db.models import Q
from django.db.models.functions import Now

ACKNOWLEDGED = Q(state="acknowledged") | Q(state="shelved", shelved_from="acknowledged")


def clear_acknowledged_latches(apps, schema_editor):
    Anomaly = apps.get_model("anomalies", "Anomaly")
    Anomaly.objects.filter(ACKNOWLEDGED, latched=True, cleared_at__isnull=True).update(
        latched=False, cleared_at=Now(), updated_at=Now()
    )


class Migration(migrations.Migration):
    dependencies = [("anomalies", "0002_beat_schedules")]
    operations = [migrations.RunPython(clear_acknowledged_latches, migrations.RunPython.noop)]
