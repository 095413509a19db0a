"""The archive: one narrow table range-partitioned by day. Partitions are created ahead by the
`telemetry.ensure_partitions` beat task and on demand by ingest (history loads)."""

from django.db import migrations

CREATE = """
CREATE TABLE telemetry_sample (
    parameter_id integer NOT NULL,
    time timestamptz NOT NULL,
    value double precision NOT NULL,
    PRIMARY KEY (parameter_id, time)
) PARTITION BY RANGE (time);
-- Time-range scans across all parameters (roll-ups) use a BRIN index: tiny and cheap to maintain.
CREATE INDEX telemetry_sample_time_brin ON telemetry_sample USING brin (time);
"""

DROP = "DROP TABLE IF EXISTS telemetry_sample CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
