"""Hour roll-ups (the second level the series query reads for spans of hours and more), backfilled
from the minute roll-ups already there. From now on `telemetry.roll_up` keeps them current."""

from django.db import migrations, models

# The same aggregation as telemetry.services.archive.HOUR_ROLL_UP_SQL, over every minute roll-up:
# count-weighted avg, `last` of the latest minute. Inlined because a migration must not follow
# later code changes.
BACKFILL = """
INSERT INTO telemetry_hour_rollup (parameter_id, bucket, min, max, avg, count, last)
SELECT parameter_id, date_bin('1 hour', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       min(min), max(max), sum(avg * count) / sum(count), sum(count), (array_agg(last ORDER BY bucket DESC))[1]
FROM telemetry_minute_rollup
GROUP BY 1, 2
"""


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0003_beat_schedules")]

    operations = [
        migrations.CreateModel(
            name="HourRollup",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "parameter_id", "bucket", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("parameter_id", models.IntegerField()),
                ("bucket", models.DateTimeField()),
                ("min", models.FloatField()),
                ("max", models.FloatField()),
                ("avg", models.FloatField()),
                ("count", models.IntegerField()),
                ("last", models.FloatField()),
            ],
            options={"db_table": "telemetry_hour_rollup"},
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
