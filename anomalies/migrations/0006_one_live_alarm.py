"""A parameter has at most one live alarm (after 0005 folded the episodes)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("anomalies", "0005_fold_episodes")]
    operations = [
        migrations.AddConstraint(
            model_name="anomaly",
            constraint=models.UniqueConstraint(
                condition=models.Q(("closed_at__isnull", True)), fields=("parameter",), name="one_live_alarm"
            ),
        ),
    ]
