"""One pass per spacecraft, station and AOS. Concurrent recomputes could store a pass twice:
merge such duplicates first (the kept row inherits the announced marks and the contacts)."""

from django.db import migrations, models

MERGE_DUPLICATE_PASSES = """
WITH ranked AS (
    SELECT id,
           first_value(id) OVER same AS keep_id,
           bool_or(started_announced) OVER same AS started,
           bool_or(ended_announced) OVER same AS ended
    FROM orbits_pass
    WINDOW same AS (
        PARTITION BY spacecraft_id, station_id, aos ORDER BY id
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
),
moved AS (
    UPDATE orbits_contact AS c SET pass_ref_id = r.keep_id
    FROM ranked AS r WHERE c.pass_ref_id = r.id AND r.id <> r.keep_id
),
marked AS (
    UPDATE orbits_pass AS p SET started_announced = r.started, ended_announced = r.ended
    FROM ranked AS r WHERE p.id = r.id AND r.id = r.keep_id
)
DELETE FROM orbits_pass AS p USING ranked AS r WHERE p.id = r.id AND r.id <> r.keep_id;
-- Check the deferred foreign keys now: ALTER TABLE refuses a table with pending trigger events.
SET CONSTRAINTS ALL IMMEDIATE;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orbits", "0002_periodic_tasks"),
    ]

    operations = [
        migrations.RunSQL(MERGE_DUPLICATE_PASSES, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="pass",
            constraint=models.UniqueConstraint(fields=("spacecraft", "station", "aos"), name="one_pass_per_aos"),
        ),
    ]
