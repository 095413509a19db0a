"""Reads of the archive, always on behalf of a user: series with downsampling, latest values, export;
and the per-process cache of parameter definitions every ingest reads (`definitions_for`)."""

import datetime as dt
import math
import threading
import uuid
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from missionops.exceptions import NotFound
from missionops.replicas import read_connection
from spacecraft.models import Spacecraft
from spacecraft.selectors import spacecraft_visible_to

from .exceptions import SeriesQueryError
from .models import LatestValue, ParameterDefinition

ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
MAX_POINTS_LIMIT = 10_000


def spacecraft_for(user, ref: str) -> Spacecraft:
    """A spacecraft the user may view, by id or designation; NotFound (404) for anything else."""
    scope = spacecraft_visible_to(user)
    try:
        matches = list(scope.filter(pk=uuid.UUID(str(ref))))
    except ValueError:
        matches = list(scope.filter(designation=ref))
    if len(matches) != 1:
        raise NotFound("no such spacecraft")
    return matches[0]


def parameters_of(spacecraft: Spacecraft) -> list[ParameterDefinition]:
    """Definitions of a spacecraft, by subsystem then name (synced when its configuration changes)."""
    return list(
        ParameterDefinition.objects.filter(spacecraft=spacecraft).select_related("latest").order_by("subsystem", "name")
    )


def parameter_of(spacecraft: Spacecraft, name: str) -> ParameterDefinition:
    """One parameter's definition; NotFound when the spacecraft has none of that name."""
    definitions = definitions_for([spacecraft])[spacecraft.pk]
    if name not in definitions:
        raise NotFound(f"{spacecraft.designation} has no parameter {name!r}")
    return definitions[name]


def stale_after_s(definition: ParameterDefinition) -> float:
    default = settings.TELEMETRY_STALE_AFTER_S
    return 3 * definition.expected_interval_s if definition.expected_interval_s else default


def latest_values(*, spacecraft: Spacecraft, now: dt.datetime | None = None) -> list[dict]:
    """Every parameter with its newest value, status against the tolerances, age and staleness."""
    now = now or timezone.now()
    rows = []
    for definition in parameters_of(spacecraft):
        try:
            latest = definition.latest
        except LatestValue.DoesNotExist:
            latest = None
        rows.append(latest_row(definition, latest.value if latest else None, latest.time if latest else None, now))
    return rows


def latest_row(definition: ParameterDefinition, value, time: dt.datetime | None, now: dt.datetime) -> dict:
    """One parameter's latest value (None and None: none yet) as of `now`: the REST answer's row and the
    live message's (after an ingest, as of its commit)."""
    age_s = (now - time).total_seconds() if time is not None else None
    stale_s = stale_after_s(definition)
    return {
        "parameter": definition.name,
        "subsystem": definition.subsystem,
        "units": definition.units,
        "type": definition.type,
        "declared": definition.declared,
        "enum_values": definition.enum_values,
        "limits": {k: getattr(definition, k) for k in ("warn_low", "warn_high", "crit_low", "crit_high")},
        "value": definition.display_value(value),
        "time": time,
        "age_s": round(age_s, 3) if age_s is not None else None,
        "stale_after_s": stale_s,
        "stale": age_s is None or age_s > stale_s,
        "status": definition.status_of(value),
    }


def rollup_threshold_s() -> int:
    return settings.TELEMETRY_ROLLUP_MIN_BUCKET_S


def series_level(bucket_s: int) -> str:
    """Which archive level a bucket this wide reads: raw rows, minute roll-ups or hour roll-ups."""
    if bucket_s < rollup_threshold_s():
        return "raw"
    return "minute" if bucket_s < HOUR.total_seconds() else "hour"


def series(*, definition: ParameterDefinition, start: dt.datetime, end: dt.datetime, max_points: int) -> dict:
    """At most `max_points` buckets of min / max / avg / count over [start, end).

    Buckets are `date_bin` bins aligned to 2000-01-01. The bucket width picks the level: under a
    minute, raw rows; under an hour, minute roll-ups; an hour or more, hour roll-ups (a year reads
    ~8.8k rows per parameter instead of ~525k minutes or 31M samples). Widths are rounded up to
    whole roll-up units, so a roll-up never straddles two bins; min / max stay the raw min / max and
    avg is weighted by count.

    Only what is certainly rolled up comes from roll-ups: whole hours from hour roll-ups, the partial
    hours at either edge from minute roll-ups, the partial minutes at either edge from raw rows. A
    minute still pending (ingested into since its last roll-up) is read from raw rows, and the rest
    of its hour from minute roll-ups; nothing else changes level. The pending minutes are read in the
    same statement, so the answer is one snapshot: it covers exactly [start, end) and is complete
    (except a partial first minute whose raw partition retention has dropped).
    """
    if end <= start:
        raise SeriesQueryError("end must be after start", field="end")
    if not 2 <= max_points <= MAX_POINTS_LIMIT:
        raise SeriesQueryError(f"max_points must be between 2 and {MAX_POINTS_LIMIT}", field="max_points")
    span_s = (end - start).total_seconds()
    bucket_s = max(1, math.ceil(span_s / (max_points - 1)))
    level = series_level(bucket_s)
    fallback = ""
    if level == "raw" and (expired := _raw_expired_before(definition, start, end)):
        # Raw rows of [start, horizon) are gone: minute roll-ups keep them (min/max/avg per minute).
        level, fallback = (
            "minute",
            (f"raw samples before {expired.isoformat()} were removed by retention: minute roll-ups shown"),
        )
    if level != "raw":
        unit_s = 60 if level == "minute" else 3600
        bucket_s = math.ceil(bucket_s / unit_s) * unit_s
    params = {"p": definition.pk, "w": dt.timedelta(seconds=bucket_s), "origin": ORIGIN, "start": start, "end": end}
    with read_connection().cursor() as cursor:  # the replica inside missionops.replicas.replica_reads
        if level == "raw":
            cursor.execute(
                """
                SELECT date_bin(%(w)s, time, %(origin)s) AS b, min(value), max(value), avg(value), count(*)
                FROM telemetry_sample
                WHERE parameter_id = %(p)s AND time >= %(start)s AND time < %(end)s
                GROUP BY b ORDER BY b
                """,
                params,
            )
        else:
            params.update(_rollup_ranges(start=start, end=end, hours=level == "hour"))
            cursor.execute(SERIES_FROM_ROLLUPS_SQL, params)
        rows = cursor.fetchall()
    return {
        "spacecraft": str(definition.spacecraft_id),
        "parameter": definition.name,
        "units": definition.units,
        "type": definition.type,
        "start": start,
        "end": end,
        "bucket_s": bucket_s,
        "source": "raw" if level == "raw" else "rollup",
        "level": level,
        "fallback": fallback,
        "t": [r[0] for r in rows],
        "min": [r[1] for r in rows],
        "max": [r[2] for r in rows],
        "avg": [r[3] for r in rows],
        "count": [r[4] for r in rows],
    }


def _raw_expired_before(definition: ParameterDefinition, start: dt.datetime, end: dt.datetime):
    """The retention horizon, when [start, end) reaches before it, no raw row is left there and
    minute roll-ups are; else None (raw rows are still the better answer)."""
    from .models import RetentionPolicy

    policy = RetentionPolicy.objects.filter(organization_id=definition.spacecraft.organization_id).first()
    days = policy.raw_days if policy else settings.TELEMETRY_RAW_RETENTION_DAYS
    horizon = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    if start >= horizon:
        return None
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM telemetry_sample WHERE parameter_id = %(p)s"
            " AND time >= %(s)s AND time < %(e)s),"
            " EXISTS (SELECT 1 FROM telemetry_minute_rollup WHERE parameter_id = %(p)s"
            " AND bucket >= %(ms)s AND bucket < %(e)s)",
            {"p": definition.pk, "s": start, "e": min(end, horizon), "ms": _floor(start, MINUTE)},
        )
        raw_left, rolled_up = cursor.fetchone()
    return horizon if rolled_up and not raw_left else None


# [start, end) in disjoint parts: raw [start, m0) and [m1, end), the partial minutes at the edges;
# minute roll-ups [m0, h0) and [h1, m1), the partial hours; hour roll-ups [h0, h1), the whole hours.
# A pending minute in [m0, m1) is taken out of its part and read raw; the whole hour it falls in
# is then read from its other minutes' roll-ups instead of its hour roll-up. One arm per range (not
# ORs) keeps each an index range scan with plan-time partition pruning. The pending minutes are few
# (the roll-up runs every minute); each is read by its own index range scan (LATERAL ... OFFSET 0:
# as a plain join the planner may scan every row of the parameter and filter).
SERIES_FROM_ROLLUPS_SQL = """
WITH pending AS MATERIALIZED (
    SELECT bucket FROM telemetry_pending_rollup WHERE bucket >= %(m0)s AND bucket < %(m1)s
),
pending_hours AS MATERIALIZED (
    SELECT DISTINCT date_bin('1 hour', bucket, %(origin)s) AS hour FROM pending
    WHERE bucket >= %(h0)s AND bucket < %(h1)s
),
parts AS (
    SELECT date_bin(%(w)s, time, %(origin)s) AS b, value AS min, value AS max, value AS total, 1 AS count
    FROM telemetry_sample WHERE parameter_id = %(p)s AND time >= %(start)s AND time < %(m0)s
    UNION ALL
    SELECT date_bin(%(w)s, time, %(origin)s), value, value, value, 1
    FROM telemetry_sample WHERE parameter_id = %(p)s AND time >= %(m1)s AND time < %(end)s
    UNION ALL
    SELECT date_bin(%(w)s, s.time, %(origin)s), s.value, s.value, s.value, 1
    FROM pending, LATERAL (
        SELECT time, value FROM telemetry_sample WHERE parameter_id = %(p)s
        AND time >= pending.bucket AND time < pending.bucket + interval '1 minute' OFFSET 0
    ) s
    UNION ALL
    SELECT date_bin(%(w)s, bucket, %(origin)s), min, max, avg * count, count
    FROM telemetry_minute_rollup WHERE parameter_id = %(p)s AND bucket >= %(m0)s AND bucket < %(h0)s
        AND bucket NOT IN (SELECT bucket FROM pending)
    UNION ALL
    SELECT date_bin(%(w)s, bucket, %(origin)s), min, max, avg * count, count
    FROM telemetry_minute_rollup WHERE parameter_id = %(p)s AND bucket >= %(h1)s AND bucket < %(m1)s
        AND bucket NOT IN (SELECT bucket FROM pending)
    UNION ALL
    SELECT date_bin(%(w)s, r.bucket, %(origin)s), r.min, r.max, r.avg * r.count, r.count
    FROM pending_hours, LATERAL (
        SELECT * FROM telemetry_minute_rollup WHERE parameter_id = %(p)s
        AND bucket >= pending_hours.hour AND bucket < pending_hours.hour + interval '1 hour' OFFSET 0
    ) r
    WHERE r.bucket NOT IN (SELECT bucket FROM pending)
    UNION ALL
    SELECT date_bin(%(w)s, bucket, %(origin)s), min, max, avg * count, count
    FROM telemetry_hour_rollup WHERE parameter_id = %(p)s AND bucket >= %(h0)s AND bucket < %(h1)s
        AND bucket NOT IN (SELECT hour FROM pending_hours)
)
SELECT b, min(min), max(max), sum(total) / sum(count), sum(count)::bigint
FROM parts GROUP BY b ORDER BY b
"""


def _rollup_ranges(*, start: dt.datetime, end: dt.datetime, hours: bool) -> dict:
    """The bounds m0 <= h0 <= h1 <= m1 of SERIES_FROM_ROLLUPS_SQL: whole minutes [m0, m1), and
    within them the whole hours [h0, h1) when `hours` (else h0 = h1 = m0: no hour part)."""
    m0, m1 = _ceil(start, MINUTE), _floor(end, MINUTE)
    if m1 <= m0:  # no whole minute: all raw
        m0 = m1 = start
    h0, h1 = (_ceil(start, HOUR), _floor(end, HOUR)) if hours else (m0, m0)
    if h1 <= h0:
        h0 = h1 = m0
    return {"m0": m0, "h0": h0, "h1": h1, "m1": m1}


def _floor(moment: dt.datetime, unit: dt.timedelta) -> dt.datetime:
    return moment - (moment - ORIGIN) % unit


def _ceil(moment: dt.datetime, unit: dt.timedelta) -> dt.datetime:
    floor = _floor(moment, unit)
    return floor if floor == moment else floor + unit


def export_chunks(
    *, definitions: list[ParameterDefinition], start, end, chunk_rows: int = 20_000, using: str | None = None
):
    """Raw samples of `definitions` in [start, end), parameter by parameter, time ascending, as lists
    of (time, definition, value); keyset pagination on the primary key, so memory stays flat.
    `using`: the database alias to read (missionops.replicas.choose_alias)."""
    for definition in definitions:
        after = None
        while True:
            with read_connection(using).cursor() as cursor:
                cursor.execute(
                    "SELECT time, value FROM telemetry_sample WHERE parameter_id = %s AND time >= %s AND time < %s "
                    "AND (%s::timestamptz IS NULL OR time > %s) ORDER BY time LIMIT %s",
                    [definition.pk, start, end, after, after, chunk_rows],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            yield [(t, definition, v) for t, v in rows]
            after = rows[-1][0]
            if len(rows) < chunk_rows:
                break


# --- parameter definitions, kept per process ------------------------------------------------------
# Every ingest needs its spacecraft's definitions, and they rarely change, so each process keeps them
# per spacecraft together with a stamp: a SHA-256 PostgreSQL computes over the spacecraft's definition
# rows. The query that resolves a batch's spacecraft fetches the current stamp (`with_stamps`); an
# equal stamp means the kept definitions are the rows as they are now, so a hit costs no query, and
# any change however it was made (configuration sync, a new undeclared parameter, the admin, another
# process, a delete) is seen by the next request.

# The stamp of the definition rows aliased `d` (the whole row as text: every column counts).
STAMP = "sha256(convert_to(string_agg(d::text, ',' ORDER BY d.id), 'UTF8'))"
STAMP_OF_SPACECRAFT = (
    f'(SELECT {STAMP} FROM telemetry_parameterdefinition d WHERE d.spacecraft_id = "spacecraft_spacecraft"."id")'
)
CONFIG_VERSION_OF_SPACECRAFT = (
    '(SELECT max(version) FROM spacecraft_configversion c WHERE c.spacecraft_id = "spacecraft_spacecraft"."id")'
)
STAMPS_SQL = f"""
SELECT "spacecraft_spacecraft"."id", {CONFIG_VERSION_OF_SPACECRAFT}, {STAMP_OF_SPACECRAFT}
FROM unnest(%s::uuid[]) AS "spacecraft_spacecraft"(id)
"""
# The rows and their stamp from one statement (one snapshot): a stamp never goes with other rows.
LOAD_SQL = f"""
WITH d AS MATERIALIZED (SELECT * FROM telemetry_parameterdefinition WHERE spacecraft_id = ANY(%s))
SELECT d.*, s.stamp FROM d
JOIN (SELECT d.spacecraft_id, {STAMP} AS stamp FROM d GROUP BY d.spacecraft_id) s ON s.spacecraft_id = d.spacecraft_id
"""
MAX_CACHED = 4096  # spacecraft per process


class _Cached(NamedTuple):
    stamp: bytes | None
    definitions: dict  # name -> ParameterDefinition, shared: never changed in place
    synced_version: int | None  # the configuration version they were last taken from


_cache: dict = {}
_cache_lock = threading.Lock()


def with_stamps(queryset: QuerySet[Spacecraft]) -> QuerySet[Spacecraft]:
    """`queryset` annotated with what definitions_for checks: the current configuration version
    and the definitions' stamp, so it needs no query of its own."""
    return queryset.annotate(
        config_version_now=RawSQL(CONFIG_VERSION_OF_SPACECRAFT, []),
        definitions_stamp=RawSQL(STAMP_OF_SPACECRAFT, []),
    )


def definitions_and_stale(spacecraft: list[Spacecraft]) -> tuple[dict, list[Spacecraft]]:
    """({spacecraft id: {name: ParameterDefinition}}, the spacecraft whose configuration changed since
    their definitions were last taken from it: ingest syncs those, services.definitions). The
    definitions are shared with other callers of this process: read them; to change one, save a copy."""
    ids = [sc.pk for sc in spacecraft]
    if all(hasattr(sc, "definitions_stamp") for sc in spacecraft):
        now = {sc.pk: (sc.config_version_now, sc.definitions_stamp) for sc in spacecraft}
    else:
        with connection.cursor() as cursor:
            cursor.execute(STAMPS_SQL, [ids])
            now = {pk: (version, stamp) for pk, version, stamp in cursor.fetchall()}
    found = {}
    for pk in ids:
        cached = _cache.get(pk)
        stamp = _as_bytes(now[pk][1])
        if cached is not None and cached.stamp == stamp:
            found[pk] = cached
        elif stamp is None:
            found[pk] = _Cached(None, {}, None)
    found |= _load([pk for pk in ids if pk not in found])
    stale = [sc for sc in spacecraft if now[sc.pk][0] not in (None, found[sc.pk].synced_version)]
    return {pk: dict(found[pk].definitions) for pk in ids}, stale


def definitions_for(spacecraft: list[Spacecraft]) -> dict:
    """{spacecraft id: {name: ParameterDefinition}} as stored now (a read never syncs)."""
    return definitions_and_stale(spacecraft)[0]


def reload_definitions(*, ids: list) -> dict:
    """{spacecraft id: {name: ParameterDefinition}} read from the rows (after a sync), kept for the next caller."""
    return {pk: dict(entry.definitions) for pk, entry in _load(ids).items()}


def _load(ids: list) -> dict:
    """Definitions of these spacecraft with their stamp, kept for the next caller."""
    if not ids:
        return {}
    definitions: dict = {pk: {} for pk in ids}
    stamps = {}
    for definition in ParameterDefinition.objects.raw(LOAD_SQL, [ids]):
        definitions[definition.spacecraft_id][definition.name] = definition
        stamps[definition.spacecraft_id] = _as_bytes(definition.stamp)
    entries = {}
    for pk, by_name in definitions.items():
        versions = [d.config_version for d in by_name.values() if d.config_version is not None]
        entries[pk] = _Cached(stamps.get(pk), by_name, max(versions, default=None))
    with _cache_lock:
        while len(_cache) + len(entries) > MAX_CACHED and _cache:
            del _cache[next(iter(_cache))]  # the oldest entry
        _cache.update({pk: entry for pk, entry in entries.items() if entry.stamp is not None})
    return entries


def _as_bytes(stamp) -> bytes | None:
    return None if stamp is None else bytes(stamp)
