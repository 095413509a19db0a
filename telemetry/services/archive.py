"""The partitioned archive's writes at the SQL level: day partitions created and dropped, binary
COPY into the archive, pending-minute marks and the minute and hour roll-ups.

Raw SQL because the archive is Postgres-specific by design (partitions, COPY, date_bin). The
format these share with the readers (COPY rows, microsecond timestamps, partition names) is
`telemetry.archive`.
"""

import contextlib
import datetime as dt
import logging

import numpy as np
from django.db import connection, transaction

from ..archive import (
    COPY_HEADER,
    COPY_TRAILER,
    PG_EPOCH,
    TABLE,
    US_PER_DAY,
    copy_buffer,
    copy_rows_bytes,
    existing_partitions,
    partition_name,
    pending_buckets,
)

logger = logging.getLogger(__name__)

MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def copy_rows(*, cursor, table: str, parameter_ids, times_us, values) -> None:
    """COPY these rows into `table` in one binary COPY."""
    with cursor.copy(f"COPY {table} (parameter_id, time, value) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(copy_buffer(parameter_ids, times_us, values))


@contextlib.contextmanager
def copy_stream(*, cursor, table: str):
    """One binary COPY into `table` fed in pieces: yields write(parameter_ids, times_us, values).
    The server inserts what it has received while the caller prepares the next piece. An exception
    in the block aborts the COPY (nothing of it is stored) and propagates."""
    with cursor.copy(f"COPY {table} (parameter_id, time, value) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEADER)
        yield lambda *rows: copy.write(copy_rows_bytes(*rows))
        copy.write(COPY_TRAILER)


# --- partitions -------------------------------------------------------------------------------

# Recent day partitions this process has seen committed. Retention never drops today's or
# yesterday's (raw_days is at least 1), so for live telemetry the check's round trip is skipped;
# older days are always checked. Filled only after a commit: a partition created in a transaction
# that rolls back is gone.
_recent_partitions: set[dt.date] = set()


def _recent(days) -> set[dt.date]:
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    return {day for day in days if day >= yesterday}


def _remember_when_committed(days) -> None:
    def remember():
        if connection.in_atomic_block:  # a test running captured hooks inside its transaction: not committed
            return
        _recent_partitions.intersection_update(_recent(_recent_partitions))  # forget older days
        _recent_partitions.update(_recent(days))

    transaction.on_commit(remember)


def ensure_partitions(*, days) -> list[str]:
    """Create the day partitions that do not exist yet; returns the names created. Safe to run
    concurrently: creation is serialised by an advisory lock and re-checked under it."""
    days = set(days)
    if days and days <= _recent_partitions and _recent(days) == days:
        return []
    wanted = {partition_name(day): day for day in days}
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s)", [list(wanted)])
        missing = sorted(set(wanted) - {row[0] for row in cursor.fetchall()})
        if not missing:
            _remember_when_committed(days)
            return []
        created = []
        with transaction.atomic():
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('telemetry.partitions'))")
            cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s)", [missing])
            already = {row[0] for row in cursor.fetchall()}
            for name in missing:
                if name in already:
                    continue
                day = wanted[name]
                cursor.execute(
                    f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
                    [f"{day.isoformat()} 00:00:00+00", f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00"],
                )
                created.append(name)
    _remember_when_committed(days)
    if created:
        logger.info("created telemetry partitions %s", ", ".join(created))
    return created


def ensure_partitions_for_us(*, times_us: np.ndarray) -> list[str]:
    """ensure_partitions for the days these microsecond timestamps fall in."""
    days = np.unique(times_us // US_PER_DAY)
    return ensure_partitions(days=[(PG_EPOCH + dt.timedelta(days=int(d))).date() for d in days])


def drop_partitions_before(*, day: dt.date) -> list[str]:
    """Drop whole day partitions that end on or before `day` (raw samples only; roll-ups stay)."""
    dropped = []
    with connection.cursor() as cursor, transaction.atomic():
        for name, partition_day in sorted(existing_partitions().items()):
            if partition_day + dt.timedelta(days=1) <= day:
                cursor.execute(f"DROP TABLE {name}")
                dropped.append(name)
    return dropped


# --- roll-ups ---------------------------------------------------------------------------------

ROLL_UP_SQL = """
INSERT INTO telemetry_minute_rollup (parameter_id, bucket, min, max, avg, count, last)
SELECT parameter_id, date_bin('1 minute', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       min(value), max(value), avg(value), count(*), (array_agg(value ORDER BY time DESC))[1]
FROM telemetry_sample
WHERE time >= %s AND time < %s
GROUP BY 1, 2
ON CONFLICT (parameter_id, bucket) DO UPDATE
SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, count = EXCLUDED.count, last = EXCLUDED.last
"""

# An hour from the minute roll-ups of that hour (raw rows may be gone by retention): min of mins,
# max of maxes, count-weighted avg, `last` of the latest minute. Recomputed whole, so re-running it
# never counts a minute twice.
HOUR_ROLL_UP_SQL = """
INSERT INTO telemetry_hour_rollup (parameter_id, bucket, min, max, avg, count, last)
SELECT parameter_id, date_bin('1 hour', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
       min(min), max(max), sum(avg * count) / sum(count), sum(count), (array_agg(last ORDER BY bucket DESC))[1]
FROM telemetry_minute_rollup
WHERE bucket >= %s AND bucket < %s
GROUP BY 1, 2
ON CONFLICT (parameter_id, bucket) DO UPDATE
SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, count = EXCLUDED.count, last = EXCLUDED.last
"""

# Delete only marks nobody touched meanwhile (same version) and skip rows an ingest holds locked:
# those stay pending and are rolled up next time, and this never waits, so it cannot deadlock.
CLEAR_PENDING_SQL = """
DELETE FROM telemetry_pending_rollup WHERE ctid IN (
    SELECT p.ctid FROM telemetry_pending_rollup p
    JOIN unnest(%s::timestamptz[], %s::bigint[]) AS c(bucket, version)
      ON p.bucket = c.bucket AND p.version = c.version
    FOR UPDATE OF p SKIP LOCKED)
"""


MARK_PENDING_SQL = (
    "INSERT INTO telemetry_pending_rollup (bucket, version) SELECT b, 1 FROM unnest(%s::timestamptz[]) AS b "
    "ORDER BY b ON CONFLICT (bucket) DO UPDATE SET version = telemetry_pending_rollup.version + 1"
)


def mark_pending_minutes(*, cursor, times_us: np.ndarray) -> None:
    """Mark the minutes these samples fall in as pending a roll-up."""
    cursor.execute(MARK_PENDING_SQL, [pending_buckets(times_us)])


def roll_up_pending(*, limit: int = 10_000) -> int:
    """Recompute the minute roll-ups of up to `limit` pending minutes from the raw rows, then the
    hour roll-ups of the hours they fall in from the minute roll-ups, in one transaction; returns
    how many minutes were rolled up. Contiguous minutes (hours) are aggregated in one statement.

    An hour with no pending minute left is therefore exact: the last run that cleared one of its
    minutes recomputed it after every minute of it was rolled up."""
    with transaction.atomic(), connection.cursor() as cursor:
        # One run at a time: an hour is recomputed from the minutes committed when it runs, so two
        # overlapping runs could store an hour that misses the other's minutes.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('telemetry.roll_up'))")
        cursor.execute(
            "SELECT bucket, version FROM telemetry_pending_rollup ORDER BY bucket LIMIT %s",
            [limit],
        )
        pending = cursor.fetchall()
        if not pending:
            return 0
        minutes = [bucket for bucket, _ in pending]
        for start, end in _runs(minutes, MINUTE):
            cursor.execute(ROLL_UP_SQL, [start, end])
        hours = sorted({floor_hour(minute) for minute in minutes})
        for start, end in _runs(hours, HOUR):
            cursor.execute(HOUR_ROLL_UP_SQL, [start, end])
        cursor.execute(CLEAR_PENDING_SQL, [minutes, [v for _, v in pending]])
    return len(pending)


def floor_hour(moment: dt.datetime) -> dt.datetime:
    """The start of the hour `moment` falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _runs(buckets: list[dt.datetime], step: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    runs = []
    for bucket in buckets:
        if runs and runs[-1][1] == bucket:
            runs[-1][1] = bucket + step
        else:
            runs.append([bucket, bucket + step])
    return [(s, e) for s, e in runs]
