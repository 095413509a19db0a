"""One alarm per (spacecraft, parameter) condition (ISA-18.2): the schema; 0005 folds the rows."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0003_clear_acknowledged_latches"),
        ("missionops", "0003_api_keys"),
        ("spacecraft", "0003_command_schedules"),
        ("telemetry", "0006_enum_codes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Arrival",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_time", models.DateTimeField()),
                ("last_time", models.DateTimeField()),
                ("arrived_at", models.DateTimeField()),
                (
                    "limits_checked",
                    models.BooleanField(
                        default=False, help_text="Ingest already ran the limit check on these samples (live, in order)."
                    ),
                ),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="anomaly",
            name="one_live_episode",
        ),
        migrations.AddField(
            model_name="anomaly",
            name="activations",
            field=models.JSONField(blank=True, default=list, help_text="[start, end] of each time the condition held."),
        ),
        migrations.AddField(
            model_name="anomaly",
            name="chattering",
            field=models.BooleanField(default=False, help_text="Returned too often in a short time: folded, flagged."),
        ),
        migrations.AddField(
            model_name="anomaly",
            name="closed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="No longer accepts detections: back to normal and acknowledged, or resolved.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="anomaly",
            name="detectors",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Every detector that fired on this alarm: kind, severity, threshold, first/last time, peak, active.",
            ),
        ),
        migrations.AddField(
            model_name="anomaly",
            name="returns",
            field=models.PositiveIntegerField(default=0, help_text="Times the condition came back after clearing."),
        ),
        migrations.AddField(
            model_name="anomaly",
            name="suppressed_by",
            field=models.CharField(
                blank=True, help_text="Suppressed by design (e.g. 'mode safe'): recorded, never paged.", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="anomaly",
            name="detector",
            field=models.CharField(
                choices=[
                    ("limit", "Limits"),
                    ("rate", "Rate of change"),
                    ("stale", "Stale data"),
                    ("flatline", "Stuck value"),
                    ("zscore", "Rolling z-score"),
                    ("iqr", "IQR fences"),
                    ("ewma", "EWMA control chart"),
                    ("forecast", "Time to limit"),
                ],
                help_text="The detector shown: the most severe, first.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="anomaly",
            name="is_late",
            field=models.BooleanField(
                default=False, help_text="Found in played-back telemetry: recorded, never paged."
            ),
        ),
        migrations.AlterField(
            model_name="anomaly",
            name="shelved_from",
            field=models.CharField(
                blank=True,
                choices=[
                    ("open", "Open"),
                    ("acknowledged", "Acknowledged"),
                    ("shelved", "Shelved"),
                    ("out_of_service", "Out of service"),
                    ("resolved", "Resolved"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="anomaly",
            name="state",
            field=models.CharField(
                choices=[
                    ("open", "Open"),
                    ("acknowledged", "Acknowledged"),
                    ("shelved", "Shelved"),
                    ("out_of_service", "Out of service"),
                    ("resolved", "Resolved"),
                ],
                default="open",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="detectorcursor",
            name="detector",
            field=models.CharField(
                choices=[
                    ("limit", "Limits"),
                    ("rate", "Rate of change"),
                    ("stale", "Stale data"),
                    ("flatline", "Stuck value"),
                    ("zscore", "Rolling z-score"),
                    ("iqr", "IQR fences"),
                    ("ewma", "EWMA control chart"),
                    ("forecast", "Time to limit"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="arrival",
            name="parameter",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="telemetry.parameterdefinition"
            ),
        ),
        migrations.AddIndex(
            model_name="arrival",
            index=models.Index(fields=["parameter", "id"], name="arrival_parameter"),
        ),
    ]
