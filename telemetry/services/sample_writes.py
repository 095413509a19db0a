"""Writing a validated batch's samples: streamed binary COPY into the archive, the exact
ON CONFLICT DO NOTHING path for re-sent rows, and the latest value per parameter."""

import datetime as dt
import itertools

import numpy as np
import psycopg
from django.db import connection, transaction

from missionops.prepared import prepared

from .. import archive
from . import validation
from .archive import MARK_PENDING_SQL, copy_rows, copy_stream

STAGING = "telemetry_staging"
SMALL_BATCH = 200  # samples: one INSERT of arrays (three round trips fewer; COPY is faster from ~500 on)
SMALL_INSERT = (
    f"INSERT INTO {archive.TABLE} (parameter_id, time, value) "
    "SELECT p, TIMESTAMPTZ '2000-01-01 00:00:00+00' + t * INTERVAL '1 microsecond', v "
    "FROM unnest(%s::integer[], %s::bigint[], %s::double precision[]) AS s(p, t, v) ON CONFLICT DO NOTHING"
)


class _Unstreamable(Exception):
    """The batch registers a parameter: a query cannot run while the COPY holds the connection."""


def validate_and_copy(*, cursor, chunks) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """Validate the batch while COPYing it straight into the archive; returns its samples and how
    many were stored, or None when the COPY did not go through and insert_samples must store them.

    Fast path: one binary COPY into the archive inside a savepoint, fed piece by piece (each sorted
    by the index key) as validation goes, so PostgreSQL inserts one piece while Python checks the
    next (2 cores: about the cost of the slower of the two instead of their sum), and no row is
    written twice (staging, then archive). A COPY is all or nothing: it stores every row or fails
    on the primary key (a re-sent or overlapping batch, a duplicate inside the batch, a concurrent
    ingest of the same rows, which COPY waits for). Then the savepoint is rolled back, validation
    goes on, and the caller stores the batch exactly with ON CONFLICT DO NOTHING. An invalid item
    aborts the COPY and propagates: nothing is written either way.

    A batch of at most SMALL_BATCH samples (one piece shorter than COPY_CHUNK is the whole batch)
    is not copied: insert_samples stores it in one statement, without the savepoint's round trips."""
    parts: list = []
    stored = None
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64), 0)
    if first is not validation.NEEDS_DB and len(first[0]) < validation.COPY_CHUNK and len(first[0]) <= SMALL_BATCH:
        return (*first, None)
    try:
        with transaction.atomic(), copy_stream(cursor=cursor, table=archive.TABLE) as write:
            for chunk in itertools.chain((first,), chunks):
                if chunk is validation.NEEDS_DB:
                    raise _Unstreamable
                parts.append(chunk)
                order = np.lexsort((chunk[1], chunk[0]))
                write(chunk[0][order], chunk[1][order], chunk[2][order])
        stored = sum(len(part[0]) for part in parts)
    except (_Unstreamable, psycopg.errors.UniqueViolation):
        pass
    parts += [chunk for chunk in chunks if chunk is not validation.NEEDS_DB]  # the rest, if the COPY stopped early
    pids, times, values = (np.concatenate([part[i] for part in parts]) for i in range(3))
    return pids, times, values, stored


# The newest sample per parameter (arrays of parameter ids, µs times, values), returning the rows
# that changed.
LATEST_UPSERT = (
    "INSERT INTO telemetry_latestvalue (parameter_id, time, value) "
    "SELECT p, TIMESTAMPTZ '2000-01-01 00:00:00+00' + t * INTERVAL '1 microsecond', v "
    "FROM unnest(%s::integer[], %s::bigint[], %s::double precision[]) AS s(p, t, v) "
    "ON CONFLICT (parameter_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value "
    "WHERE telemetry_latestvalue.time <= EXCLUDED.time RETURNING parameter_id, time, value"
)
# The latest values and roll-up marks as the end of one statement: after a small batch's samples
# (SMALL_WRITE, three writes in one round trip) or after a large batch's COPY (LATEST_AND_MARKS).
# The UNION ALL's branches run in order (samples, latest values, roll-up marks), the order both
# paths take these locks, so two concurrent ingests cannot deadlock on them.
_LATEST_AND_MARKED = f"latest AS ({LATEST_UPSERT}),\nmarked AS ({MARK_PENDING_SQL} RETURNING 1)"
_LATEST_AND_MARKED_ROWS = (
    "SELECT 1, parameter_id, time, value FROM latest\nUNION ALL SELECT 2, count(*), NULL, NULL FROM marked"
)
SMALL_WRITE = f"""
WITH stored AS ({SMALL_INSERT} RETURNING 1),
{_LATEST_AND_MARKED}
SELECT 0, count(*), NULL::timestamptz, NULL::double precision FROM stored
UNION ALL {_LATEST_AND_MARKED_ROWS}
"""
LATEST_AND_MARKS = f"""
WITH {_LATEST_AND_MARKED}
{_LATEST_AND_MARKED_ROWS}
"""


def write_small_batch(*, pids, times, values) -> tuple[int, list[tuple[int, dt.datetime, float]]]:
    """insert_samples, the latest values and the roll-up marks of a batch of at most SMALL_BATCH sorted
    samples in one statement (each round trip to PostgreSQL is most of a small request's cost);
    returns how many samples were stored and the latest values that changed."""
    samples = [pids.tolist(), times.tolist(), values.tolist()]
    return _write_latest_and_marks(SMALL_WRITE, samples, pids=pids, times=times, values=values)


def update_latest_and_marks(*, pids, times, values) -> list[tuple[int, dt.datetime, float]]:
    """Upsert the newest sample per parameter of this sorted batch and mark its minutes pending a
    roll-up, in one round trip; returns the latest values that changed."""
    return _write_latest_and_marks(LATEST_AND_MARKS, [], pids=pids, times=times, values=values)[1]


def _write_latest_and_marks(sql: str, first_params: list, *, pids, times, values):
    """Run `sql` (ending with the latest values and roll-up marks of these sorted samples) prepared:
    planning it cost ~0.25 ms, about what running it does. (samples stored, latest values changed)."""
    last = np.flatnonzero(np.r_[pids[1:] != pids[:-1], True])
    latest = [pids[last].tolist(), times[last].tolist(), values[last].tolist()]
    with prepared(), connection.cursor() as cursor:
        cursor.execute(sql, [*first_params, *latest, archive.pending_buckets(times)])
        rows = cursor.fetchall()
    stored, changed = 0, []
    for branch, first, moment, value in rows:
        if branch == 0:
            stored = first
        elif branch == 1:
            changed.append((first, moment, value))
    return stored, changed


def insert_samples(*, cursor, pids, times, values) -> int:
    """Put sorted samples into the archive, skipping any (parameter, time) already there; returns
    how many were stored. At most SMALL_BATCH: one INSERT ... ON CONFLICT DO NOTHING of the arrays.
    Else a COPY in a savepoint first (a batch that registered a parameter could not stream); on a
    primary-key violation, COPY into a staging table and INSERT ... ON CONFLICT DO NOTHING."""
    if len(pids) <= SMALL_BATCH:
        cursor.execute(SMALL_INSERT, [pids.tolist(), times.tolist(), values.tolist()])
        return cursor.rowcount
    try:
        with transaction.atomic():
            copy_rows(cursor=cursor, table=archive.TABLE, parameter_ids=pids, times_us=times, values=values)
        return len(pids)
    except psycopg.errors.UniqueViolation:
        pass
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} "
        "(parameter_id integer, time timestamptz, value double precision) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {STAGING}")
    copy_rows(cursor=cursor, table=STAGING, parameter_ids=pids, times_us=times, values=values)
    cursor.execute(
        f"INSERT INTO {archive.TABLE} (parameter_id, time, value) "
        f"SELECT parameter_id, time, value FROM {STAGING} ON CONFLICT DO NOTHING"
    )
    return cursor.rowcount
