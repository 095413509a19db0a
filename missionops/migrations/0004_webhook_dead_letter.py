"""Dead-lettered deliveries (were "failed"), every in-flight delivery due at a time the sweep reads,
and the reconciliation sweep's beat schedule."""

from django.db import migrations, models

from missionops.beat import schedules_operation

SCHEDULES = [("missionops: re-queue stale webhook deliveries", "missionops.requeue_stale_deliveries", 60)]


class Migration(migrations.Migration):
    dependencies = [("missionops", "0003_api_keys"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("retrying", "Retrying"),
                    ("succeeded", "Succeeded"),
                    ("dead_letter", "Dead letter (gave up; redeliver to retry)"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.RunSQL(
            "UPDATE missionops_webhookdelivery SET state = 'dead_letter' WHERE state = 'failed';"
            "UPDATE missionops_webhookdelivery SET next_attempt_at = created_at"
            " WHERE state IN ('pending', 'retrying') AND next_attempt_at IS NULL;",
            "UPDATE missionops_webhookdelivery SET state = 'failed' WHERE state = 'dead_letter';",
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "retrying"]),
                name="delivery_in_flight_due",
            ),
        ),
        schedules_operation(SCHEDULES),
    ]
