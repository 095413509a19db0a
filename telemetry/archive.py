"""The partitioned archive's format, shared by its writers and readers: the binary COPY rows,
timestamps as microseconds since the PostgreSQL epoch, day partition names, pending minutes.

Nothing here writes: creating and dropping partitions, COPY into the archive and the roll-ups
live in `telemetry.services.archive`.
"""

import datetime as dt
import struct

import numpy as np
from django.db import connection

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
US_PER_DAY = 86_400_000_000
US_PER_MINUTE = 60_000_000
TABLE = "telemetry_sample"
PARTITION_PREFIX = "telemetry_sample_p"

# Binary COPY: one row = int16 field count, then (int32 length, value) per field, big-endian.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)
ROW_DTYPE = np.dtype(
    [
        ("nfields", ">i2"),
        ("len_parameter", ">i4"),
        ("parameter_id", ">i4"),
        ("len_time", ">i4"),
        ("time", ">i8"),
        ("len_value", ">i4"),
        ("value", ">f8"),
    ]
)


def to_us(moment: dt.datetime) -> int:
    """Microseconds since the PostgreSQL epoch (2000-01-01 UTC), the binary timestamptz."""
    return (moment - PG_EPOCH) // dt.timedelta(microseconds=1)


def from_us(us: int) -> dt.datetime:
    return PG_EPOCH + dt.timedelta(microseconds=int(us))


def copy_rows_bytes(parameter_ids: np.ndarray, times_us: np.ndarray, values: np.ndarray) -> bytes:
    """These rows in the binary COPY format (no header or trailer), built in one vectorised pass."""
    rows = np.empty(len(parameter_ids), dtype=ROW_DTYPE)
    rows["nfields"], rows["len_parameter"], rows["len_time"], rows["len_value"] = 3, 4, 8, 8
    rows["parameter_id"], rows["time"], rows["value"] = parameter_ids, times_us, values
    return rows.tobytes()


def copy_buffer(parameter_ids: np.ndarray, times_us: np.ndarray, values: np.ndarray) -> bytes:
    """The whole binary COPY stream for these rows."""
    return COPY_HEADER + copy_rows_bytes(parameter_ids, times_us, values) + COPY_TRAILER


# --- partitions -------------------------------------------------------------------------------


def partition_name(day: dt.date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def existing_partitions() -> dict[str, dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {name: dt.datetime.strptime(name.removeprefix(PARTITION_PREFIX), "%Y%m%d").date() for name in names}


# --- roll-ups ---------------------------------------------------------------------------------


def pending_buckets(times_us: np.ndarray) -> list[dt.datetime]:
    """The minutes these samples fall in, sorted (the order their marks are locked in)."""
    return [from_us(m * US_PER_MINUTE) for m in np.unique(times_us // US_PER_MINUTE).tolist()]
