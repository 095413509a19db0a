"""Parameter definitions: taken from a spacecraft's current configuration (declared) or registered
when a parameter first arrives without one (undeclared, type inferred).

Every ingest needs its spacecraft's definitions, and they rarely change, so each process keeps them
per spacecraft together with a stamp: a SHA-256 PostgreSQL computes over the spacecraft's definition
rows. The query that resolves a batch's spacecraft fetches the current stamp (`with_stamps`); an
equal stamp means the kept definitions are the rows as they are now, so a hit costs no query, and
any change however it was made (configuration sync, a new undeclared parameter, the admin, another
process, a delete) is seen by the next request.
"""

import threading
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from spacecraft.config import PARAMETER_NAME
from spacecraft.models import ParameterType, Spacecraft

from .models import ParameterDefinition

SPEC_FIELDS = ("subsystem", "units", "warn_low", "warn_high", "crit_low", "crit_high", "expected_interval_s")

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
SYNC_LOCK = 7301  # advisory lock class of sync_definitions (the key is the spacecraft)


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


def sync_for_new_configuration(*, spacecraft: Spacecraft, **kwargs) -> None:
    """Receiver of spacecraft.signals.config_changed: definitions follow a new configuration version
    in its transaction, so reads never write (connected in TelemetryConfig.ready)."""
    sync_definitions(spacecraft=spacecraft)


def sync_definitions(*, spacecraft: Spacecraft) -> list[ParameterDefinition]:
    """Make the declared definitions match the spacecraft's current configuration. Parameters that
    left the configuration stay (their history remains) but become undeclared. Enum codes only grow
    (see ParameterDefinition.enum_codes). Idempotent, and safe to run concurrently (serialised per
    spacecraft until the caller's transaction ends)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Two requests that both saw the configuration change would insert the same rows.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SYNC_LOCK, str(spacecraft.pk)])
        config = spacecraft.current_config
        version = config.version if config else None
        parameters = config.parameters if config else {}
        # Locked: an ingest adding an enum code to one of these rows commits before we read it.
        rows = ParameterDefinition.objects.filter(spacecraft=spacecraft).order_by("pk").select_for_update()
        existing = {d.name: d for d in rows}
        for name, spec in parameters.items():
            definition = existing.get(name) or ParameterDefinition(spacecraft=spacecraft, name=name)
            definition.declared = True
            definition.type = spec.get("type", ParameterType.FLOAT)
            definition.enum_values = list(spec.get("enum_values", []))
            definition.enum_codes = with_codes(definition.enum_codes, definition.enum_values)
            for field in SPEC_FIELDS:
                setattr(definition, field, spec.get(field, "" if field in ("subsystem", "units") else None))
            definition.config_version = version
            definition.save()
            existing[name] = definition
        for name, definition in existing.items():
            if name not in parameters and (definition.declared or definition.config_version != version):
                definition.declared = False
                definition.config_version = version
                definition.save(update_fields=["declared", "config_version"])
    return sorted(existing.values(), key=lambda d: (d.subsystem, d.name))


def with_codes(codes: list, values) -> list:
    """`codes` extended by the values it lacks: a code, once given, keeps its string."""
    codes = list(codes or [])
    codes.extend(value for value in dict.fromkeys(values) if value not in codes)
    return codes


def definitions_for(spacecraft: list[Spacecraft], *, sync: bool = True) -> dict:
    """{spacecraft id: {name: ParameterDefinition}}, syncing (ingest; not reads: `sync=False`) any
    spacecraft whose configuration changed since its definitions were last taken from it. The
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
    for sc in spacecraft:
        current = now[sc.pk][0]
        if sync and current is not None and current != found[sc.pk].synced_version:
            sync_definitions(spacecraft=sc)
            found |= _load([sc.pk])
    return {pk: dict(found[pk].definitions) for pk in ids}


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


def infer_type(value) -> str | None:
    if isinstance(value, bool):
        return ParameterType.BOOL
    if isinstance(value, int):
        return ParameterType.INT
    if isinstance(value, float):
        return ParameterType.FLOAT
    if isinstance(value, str):
        return ParameterType.ENUM
    return None


def valid_parameter_name(name) -> bool:
    return isinstance(name, str) and PARAMETER_NAME.match(name) is not None
