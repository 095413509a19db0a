"""Reading archive windows fast: binary COPY out of PostgreSQL straight into numpy arrays.

Times stay int64 microseconds since 2000-01-01 (the binary timestamptz); `seconds()` turns them
into float seconds relative to a base so detectors work on small, exact numbers.
"""

import datetime as dt

import numpy as np
from django.db import connection

from telemetry import archive

# telemetry.archive owns the binary COPY format; reading COPY TO output uses the same header and rows.
HEADER, TRAILER = len(archive.COPY_HEADER), len(archive.COPY_TRAILER)


def _parse(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.frombuffer(data[HEADER:-TRAILER], dtype=archive.ROW_DTYPE)
    return rows["parameter_id"].astype(np.int64), rows["time"].astype(np.int64), rows["value"].astype(np.float64)


def _copy_out(sql: str, params: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # The psycopg cursor itself: Django's debug wrapper (DEBUG=true) has a copy() without parameters.
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        data = b"".join(bytes(block) for block in copy)
    if len(data) <= HEADER + TRAILER:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return _parse(data)


def read_window(parameter_ids: list[int], since: dt.datetime, until: dt.datetime):
    """(parameter ids, times µs, values) of these parameters in [since, until], sorted by parameter
    then time. The server packs each parameter's samples into two binary strings (its own send
    functions, big-endian), so the client does one frombuffer per parameter instead of a Python
    step per row."""
    if not parameter_ids:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parameter_id, count(*), string_agg(timestamptz_send(time), '' ORDER BY time), "
            f"string_agg(float8send(value), '' ORDER BY time) FROM {archive.TABLE} "
            "WHERE parameter_id = ANY(%s) AND time >= %s AND time <= %s GROUP BY parameter_id ORDER BY parameter_id",
            [list(parameter_ids), since, until],
        )
        rows = cursor.fetchall()
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    pids = np.repeat(np.array([r[0] for r in rows], np.int64), [r[1] for r in rows])
    times = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=">i8").astype(np.int64)
    values = np.frombuffer(b"".join(bytes(r[3]) for r in rows), dtype=">f8").astype(np.float64)
    return pids, times, values


def read_with_history(parameter_ids: list[int], since: dt.datetime, until: dt.datetime, history: int):
    """read_window over [since, until] plus, per parameter, the `history` samples before `since`
    (what window detectors need to judge the first new sample), same order."""
    pids, times, values = read_window(parameter_ids, since, until)
    if not parameter_ids or history <= 0:
        return pids, times, values
    before = _copy_out(
        "SELECT p.id, s.time, s.value FROM unnest(%s::integer[]) AS p(id) CROSS JOIN LATERAL ("
        f" SELECT time, value FROM {archive.TABLE} WHERE parameter_id = p.id AND time < %s"
        " ORDER BY time DESC LIMIT %s) s",
        [list(parameter_ids), since, int(history)],
    )
    if not len(before[0]):
        return pids, times, values
    all_pids, all_times, all_values = (
        np.concatenate([a, b]) for a, b in zip(before, (pids, times, values), strict=True)
    )
    order = np.lexsort((all_times, all_pids))
    return all_pids[order], all_times[order], all_values[order]


def read_recent(parameter_ids: list[int], limit: int):
    """The newest `limit` samples of each parameter, oldest first per parameter."""
    if not parameter_ids:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return _copy_out(
        "SELECT p.id, s.time, s.value FROM unnest(%s::integer[]) AS p(id) CROSS JOIN LATERAL ("
        f" SELECT time, value FROM {archive.TABLE} WHERE parameter_id = p.id ORDER BY time DESC LIMIT %s) s "
        "ORDER BY p.id, s.time",
        [list(parameter_ids), int(limit)],
    )


def split(pids: np.ndarray) -> dict[int, slice]:
    """{parameter id: slice} over arrays sorted by parameter id."""
    if not len(pids):
        return {}
    bounds = np.flatnonzero(np.r_[True, pids[1:] != pids[:-1], True])
    return {int(pids[a]): slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)}


def to_datetime(us: float | int) -> dt.datetime:
    return archive.from_us(int(round(us)))


def to_us(moment: dt.datetime) -> int:
    return archive.to_us(moment)
