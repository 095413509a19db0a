"""Telemetry operations: ingest (the one path every interface uses), roll-ups, retention."""

import contextlib
import copy
import datetime as dt
import itertools
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from missionops import event_stream
from missionops.metrics import INGEST_DURATION, SAMPLES_INGESTED
from missionops.models import Organization
from spacecraft.config import MAX_EXACT_INT
from spacecraft.models import ParameterType, Spacecraft

from . import access, archive, live
from .definitions import definitions_for, infer_type, valid_parameter_name, with_codes, with_stamps
from .exceptions import IngestForbidden, TelemetryInputError
from .mirror import mirror_batches
from .models import InjectedFault, Interface, ParameterDefinition, RetentionPolicy
from .signals import StoredBatch, samples_stored

logger = logging.getLogger(__name__)

STAGING = "telemetry_staging"
FLOAT, INT, BOOL, ENUM = ParameterType.FLOAT, ParameterType.INT, ParameterType.BOOL, ParameterType.ENUM
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
STAMP_TYPES = (str, dt.datetime)  # an ISO 8601 string, or a MessagePack timestamp


def max_future_s() -> float:
    return getattr(settings, "TELEMETRY_MAX_FUTURE_S", 3600.0)


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    registered: list[str] = field(default_factory=list)  # undeclared parameters seen for the first time
    spacecraft: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "registered": self.registered,
            "spacecraft": self.spacecraft,
        }


class _Parameter:
    """The hot-loop view of a definition: its id, type and the codes of the enum strings it accepts.
    `enum_codes` / `enum_values` are the locked row's lists once this batch adds an enum string."""

    __slots__ = ("definition", "id", "type", "enum_index", "enum_codes", "enum_values", "changed")

    def __init__(self, definition: ParameterDefinition):
        self.definition = definition
        self.id = definition.pk
        self.type = definition.type
        codes = {v: i for i, v in enumerate(definition.enum_codes or ())}
        self.enum_index = {v: codes[v] for v in definition.enum_values or () if v in codes}
        self.enum_codes = self.enum_values = None
        self.changed = False


def ingest(**kwargs) -> IngestResult:
    """Instrumented entry point (Prometheus: samples stored, batch duration); see store_batch."""
    interface = str(kwargs.get("interface", Interface.SERVICE))
    with INGEST_DURATION.labels(interface).time():
        result = store_batch(**kwargs)
    SAMPLES_INGESTED.labels(interface).inc(result.stored)
    return result


def store_batch(
    *,
    snapshots: list,
    scope: QuerySet[Spacecraft],
    may_write: Callable[[Spacecraft], bool] | None = None,
    interface: Interface | str = Interface.SERVICE,
) -> IngestResult:
    """Validate a batch of snapshots and store it, all or nothing.

    A snapshot is `{"spacecraft": <uuid or designation>, "timestamp": <ISO 8601 with offset>,
    "parameters": {name: value}}`. Spacecraft are resolved in `scope` (anything outside it is
    unknown); `may_write(sc)` False refuses the batch (IngestForbidden). Any invalid item raises
    TelemetryInputError naming its index and field, and nothing is written.

    Guarantees: samples are stored as if by INSERT ... ON CONFLICT DO NOTHING on (parameter, time)
    (see _validate_and_copy for how), so a re-sent batch stores nothing twice; latest values, new
    undeclared definitions and roll-up marks are written in the same transaction; changed latest
    values are published live (coalesced) after commit.
    """
    if not isinstance(snapshots, list):
        raise TelemetryInputError("a batch is a list of snapshots")
    result = IngestResult(received=0)
    if not snapshots:
        return result
    with transaction.atomic():
        by_ref = _resolve_spacecraft(snapshots, scope, may_write)
        definitions = definitions_for(list({sc.pk: sc for sc in by_ref.values()}.values()))
        params = {pk: {name: _Parameter(d) for name, d in defs.items()} for pk, defs in definitions.items()}
        # The COPY holds the connection while the batch is validated, so partitions are made first.
        time_cache: dict = {}
        archive.ensure_partitions_for_us(_snapshot_times(snapshots, time_cache))
        try:
            with connection.cursor() as cursor:
                pids, times, values, stored = _validate_and_copy(
                    cursor, _validated_chunks(snapshots, by_ref, params, result, time_cache)
                )
        except OverflowError:  # an integer no double holds
            _raise_inexact_number(snapshots)
            raise
        # One vectorised test per batch; only a batch that fails it is searched value by value
        # (strictly below: 2**53 + 1 arrives here rounded to 2**53).
        if not np.abs(values).max(initial=0.0) < MAX_EXACT_INT:
            _raise_inexact_number(snapshots)
        result.received = len(pids)
        _save_changed_definitions(params)
        order = np.lexsort((times, pids))  # by parameter, then time: what the steps below expect
        pids, times, values = pids[order], times[order], values[order]
        with connection.cursor() as cursor:
            result.stored = stored if stored is not None else _insert_samples(cursor, pids, times, values)
            changed = _update_latest(cursor, pids, times, values)
            archive.mark_pending_minutes(cursor, times)
        result.duplicates = result.received - result.stored
        spacecraft_by_pk = {sc.pk: sc for sc in by_ref.values()}
        # Limit checks inline, in this transaction (the anomalies app's receiver; vectorised fast path).
        batch = StoredBatch(
            spacecraft=spacecraft_by_pk, params=params, pids=pids, times=times, values=values, stored=result.stored
        )
        samples_stored.send(sender=StoredBatch, batch=batch)
        result.spacecraft = sorted(sc.designation for sc in spacecraft_by_pk.values())
        counts = _count_per_spacecraft(pids, params)
        transaction.on_commit(
            lambda: live.after_ingest(
                spacecraft=spacecraft_by_pk, params=params, changed=changed, counts=counts, interface=interface
            )
        )
        if settings.NATS_TELEMETRY_MIRROR:  # a copy on a JetStream stream per spacecraft, after commit
            mirrored = mirror_batches(spacecraft=spacecraft_by_pk, params=params, pids=pids, times=times, values=values)
            transaction.on_commit(lambda: event_stream.mirror_telemetry(batches=mirrored))
    return result


COPY_CHUNK = 8192  # samples per piece of the streamed COPY (~280 kB)
SMALL_BATCH = 200  # samples: one INSERT of arrays (three round trips fewer; COPY is faster from ~500 on)
SMALL_INSERT = (
    f"INSERT INTO {archive.TABLE} (parameter_id, time, value) "
    "SELECT p, TIMESTAMPTZ '2000-01-01 00:00:00+00' + t * INTERVAL '1 microsecond', v "
    "FROM unnest(%s::integer[], %s::bigint[], %s::double precision[]) AS s(p, t, v) ON CONFLICT DO NOTHING"
)
NEEDS_DB = object()  # yielded by _validated_chunks before it runs a query (registering a parameter)


class _Unstreamable(Exception):
    """The batch registers a parameter: a query cannot run while the COPY holds the connection."""


def _validate_and_copy(cursor, chunks) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """Validate the batch while COPYing it straight into the archive; returns its samples and how
    many were stored, or None when the COPY did not go through and _insert_samples must store them.

    Fast path: one binary COPY into the archive inside a savepoint, fed piece by piece (each sorted
    by the index key) as validation goes, so PostgreSQL inserts one piece while Python checks the
    next (2 cores: about the cost of the slower of the two instead of their sum), and no row is
    written twice (staging, then archive). A COPY is all or nothing: it stores every row or fails
    on the primary key (a re-sent or overlapping batch, a duplicate inside the batch, a concurrent
    ingest of the same rows, which COPY waits for). Then the savepoint is rolled back, validation
    goes on, and the caller stores the batch exactly with ON CONFLICT DO NOTHING. An invalid item
    aborts the COPY and propagates: nothing is written either way.

    A batch of at most SMALL_BATCH samples (one piece shorter than COPY_CHUNK is the whole batch)
    is not copied: _insert_samples stores it in one statement, without the savepoint's round trips."""
    parts: list = []
    stored = None
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64), 0)
    if first is not NEEDS_DB and len(first[0]) < COPY_CHUNK and len(first[0]) <= SMALL_BATCH:
        return (*first, None)
    try:
        with transaction.atomic(), archive.copy_stream(cursor, archive.TABLE) as write:
            for chunk in itertools.chain((first,), chunks):
                if chunk is NEEDS_DB:
                    raise _Unstreamable
                parts.append(chunk)
                order = np.lexsort((chunk[1], chunk[0]))
                write(chunk[0][order], chunk[1][order], chunk[2][order])
        stored = sum(len(part[0]) for part in parts)
    except (_Unstreamable, psycopg.errors.UniqueViolation):
        pass
    parts += [chunk for chunk in chunks if chunk is not NEEDS_DB]  # the rest, if the COPY stopped early
    pids, times, values = (np.concatenate([part[i] for part in parts]) for i in range(3))
    return pids, times, values, stored


def _insert_samples(cursor, pids, times, values) -> int:
    """Put sorted samples into the archive, skipping any (parameter, time) already there; returns
    how many were stored. At most SMALL_BATCH: one INSERT ... ON CONFLICT DO NOTHING of the arrays.
    Else a COPY in a savepoint first (a batch that registered a parameter could not stream); on a
    primary-key violation, COPY into a staging table and INSERT ... ON CONFLICT DO NOTHING."""
    if len(pids) <= SMALL_BATCH:
        cursor.execute(SMALL_INSERT, [pids.tolist(), times.tolist(), values.tolist()])
        return cursor.rowcount
    try:
        with transaction.atomic():
            archive.copy_rows(cursor, archive.TABLE, pids, times, values)
        return len(pids)
    except psycopg.errors.UniqueViolation:
        pass
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} "
        "(parameter_id integer, time timestamptz, value double precision) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {STAGING}")
    archive.copy_rows(cursor, STAGING, pids, times, values)
    cursor.execute(
        f"INSERT INTO {archive.TABLE} (parameter_id, time, value) "
        f"SELECT parameter_id, time, value FROM {STAGING} ON CONFLICT DO NOTHING"
    )
    return cursor.rowcount


def _resolve_spacecraft(snapshots, scope, may_write) -> dict:
    refs = set()
    for index, snapshot in enumerate(snapshots):
        if not isinstance(snapshot, dict):
            raise TelemetryInputError("each item must be an object", index=index)
        ref = snapshot.get("spacecraft")
        if not isinstance(ref, str) or not ref:
            raise TelemetryInputError("required: the spacecraft's id or designation", index=index, field="spacecraft")
        if ref not in refs and "\x00" in ref:  # PostgreSQL text cannot hold it: the query would fail
            raise TelemetryInputError("contains a NUL character", index=index, field="spacecraft")
        refs.add(ref)
    ids = {}
    for ref in refs:
        with contextlib.suppress(ValueError):
            ids[ref] = uuid.UUID(ref)
    named = scope.filter(Q(pk__in=ids.values()) | Q(designation__in=refs)).select_related("organization")
    found = list(with_stamps(named))  # what definitions_for checks, in this same query
    by_ref, ambiguous = {}, set()
    for ref in refs:
        if ref in ids:
            matches = [sc for sc in found if sc.pk == ids[ref]]
        else:
            matches = [sc for sc in found if sc.designation == ref]
        if len(matches) > 1:
            ambiguous.add(ref)
        if matches:
            by_ref[ref] = matches[0]
    for index, snapshot in enumerate(snapshots):
        ref = snapshot["spacecraft"]
        if ref in ambiguous:
            raise TelemetryInputError(
                f"designation {ref!r} names several of your spacecraft; use its id", index=index, field="spacecraft"
            )
        sc = by_ref.get(ref)
        if sc is None:
            raise TelemetryInputError(f"unknown spacecraft {ref!r}", index=index, field="spacecraft")
    if may_write is not None:
        for sc in {sc.pk: sc for sc in by_ref.values()}.values():
            if not may_write(sc):
                raise IngestForbidden(f"you may not write telemetry of {sc.designation}", field="spacecraft")
    return by_ref


def _parse_timestamp(value, index: int, now: dt.datetime) -> int:
    if isinstance(value, dt.datetime):  # a MessagePack timestamp (telemetry.payloads): UTC
        moment = value
    elif not isinstance(value, str):
        raise TelemetryInputError("required: an ISO 8601 time with offset", index=index, field="timestamp")
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise TelemetryInputError(f"not an ISO 8601 time: {value!r}", index=index, field="timestamp") from None
    if moment.tzinfo is None:
        raise TelemetryInputError(
            f"{value!r} has no UTC offset; add Z or +00:00", index=index, field="timestamp"
        ) from None
    if moment < EARLIEST or (moment - now).total_seconds() > max_future_s():
        raise TelemetryInputError(
            f"{value!r} lies outside 2000-01-01 .. now + {max_future_s():.0f} s", index=index, field="timestamp"
        )
    return archive.to_us(moment)


def _snapshot_times(snapshots, time_cache: dict) -> np.ndarray:
    """The times of the snapshots up to the first bad one (which validation then reports)."""
    now = timezone.now()
    for index, snapshot in enumerate(snapshots):
        stamp = snapshot.get("timestamp")
        if isinstance(stamp, STAMP_TYPES) and stamp not in time_cache:
            try:
                time_cache[stamp] = _parse_timestamp(stamp, index, now)
            except TelemetryInputError:
                break
    return np.fromiter(time_cache.values(), dtype=np.int64, count=len(time_cache))


def _validated_chunks(snapshots, by_ref, params, result, time_cache: dict):
    """The hot loop: one pass, type checks inline, times once per snapshot (repeated afterwards).
    Yields (pids, times, values) arrays of about COPY_CHUNK samples, in snapshot order, and
    NEEDS_DB before it registers an undeclared parameter."""
    now = timezone.now()
    # Snapshots of one spacecraft nearly always carry the same parameter names in the same order.
    # For such a name tuple whose parameters are all floats, the ids are looked up once and a
    # snapshot is checked with one set of its value types (C loops): only when a value is not a
    # number does the snapshot go through the per-value loop below, which names the culprit.
    float_plans: dict = {}
    snapshot_times, snapshot_counts, pids, values = [], [], [], []
    add_pid, add_value = pids.append, values.append
    for index, snapshot in enumerate(snapshots):
        sc = by_ref[snapshot["spacecraft"]]
        stamp = snapshot.get("timestamp")
        us = time_cache.get(stamp) if isinstance(stamp, STAMP_TYPES) else None
        if us is None:
            us = time_cache[stamp] = _parse_timestamp(stamp, index, now)
        parameters = snapshot.get("parameters")
        if not isinstance(parameters, dict) or not parameters:
            raise TelemetryInputError("required: an object of parameter -> value", index=index, field="parameters")
        known = params[sc.pk]
        plan_key = (sc.pk, *parameters)
        plan = float_plans.get(plan_key)
        if plan is None:
            plan = float_plans[plan_key] = _float_plan(known, parameters)
        if plan:
            snapshot_values = parameters.values()
            if NUMBER_TYPES.issuperset(map(type, snapshot_values)):
                values.extend(snapshot_values)
                pids.extend(plan)
                snapshot_times.append(us)
                snapshot_counts.append(len(plan))
                if len(values) >= COPY_CHUNK:
                    yield _arrays(snapshot_times, snapshot_counts, pids, values)
                continue
        for name, value in parameters.items():
            p = known.get(name)
            if p is None:
                yield NEEDS_DB
                p = known[name] = _register_undeclared(sc, name, value, index, result)
            ptype, vtype = p.type, type(value)
            if ptype == FLOAT:
                if vtype is float or vtype is int:
                    add_value(value)
                else:
                    raise _type_error(index, name, "a number", value)
            elif ptype == INT:
                if vtype is int or vtype is float and value.is_integer():
                    add_value(value)
                elif vtype is float and not p.definition.declared:
                    p.type = FLOAT  # an undeclared parameter widens from int to float
                    p.changed = True
                    add_value(value)
                else:
                    raise _type_error(index, name, "an integer", value)
            elif ptype == BOOL:
                if vtype is bool:
                    add_value(1.0 if value else 0.0)
                else:
                    raise _type_error(index, name, "true or false", value)
            else:
                position = p.enum_index.get(value) if vtype is str else None
                if position is None:
                    if vtype is str and not p.definition.declared:
                        if len(value) > 64 or "\x00" in value:
                            raise TelemetryInputError(
                                "a new enum string has at most 64 characters and no NUL",
                                index=index,
                                field=f"parameters.{name}",
                            )
                        yield NEEDS_DB
                        position = _claim_enum_code(p, value, index, name)
                    elif vtype is str:
                        raise TelemetryInputError(
                            f"{value!r} is not one of {', '.join(p.enum_index)}",
                            index=index,
                            field=f"parameters.{name}",
                        )
                    else:
                        raise _type_error(index, name, "one of the enum's strings", value)
                add_value(float(position))
            add_pid(p.id)
        snapshot_times.append(us)
        snapshot_counts.append(len(parameters))
        if len(values) >= COPY_CHUNK:
            yield _arrays(snapshot_times, snapshot_counts, pids, values)
    if values:
        yield _arrays(snapshot_times, snapshot_counts, pids, values)


def _arrays(snapshot_times, snapshot_counts, pids, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The samples gathered so far as arrays; empties the lists for the next chunk."""
    arrays = (
        np.array(pids, dtype=np.int32),
        np.repeat(np.array(snapshot_times, dtype=np.int64), snapshot_counts),
        np.array(values, dtype=np.float64),
    )
    for gathered in (snapshot_times, snapshot_counts, pids, values):
        gathered.clear()
    return arrays


NUMBER_TYPES = frozenset((float, int))  # exact types: bool, a subclass of int, is not a number here


def _float_plan(known: dict, parameters: dict) -> list[int] | None:
    """The parameter ids of these names, if every one is a known float parameter; else None."""
    plan = []
    for name in parameters:
        p = known.get(name)
        if p is None or p.type != FLOAT:
            return None
        plan.append(p.id)
    return plan


def _type_error(index, name, expected, value) -> TelemetryInputError:
    return TelemetryInputError(
        f"expected {expected}, got {type(value).__name__} {value!r}"[:200], index=index, field=f"parameters.{name}"
    )


def _raise_inexact_number(snapshots) -> None:
    """Raise TelemetryInputError naming the first value a double cannot hold exactly: a non-finite
    float or an integer beyond ±2**53. Returns when there is none (large floats are fine)."""
    for index, snapshot in enumerate(snapshots):
        parameters = snapshot.get("parameters") if isinstance(snapshot, dict) else None
        for name, value in parameters.items() if isinstance(parameters, dict) else ():
            if type(value) is float and not math.isfinite(value):
                raise TelemetryInputError(f"{value} is not a finite number", index=index, field=f"parameters.{name}")
            if type(value) is int and abs(value) > MAX_EXACT_INT:
                raise TelemetryInputError(
                    "integers must lie within ±2**53 (9007199254740992)", index=index, field=f"parameters.{name}"
                )


def _register_undeclared(sc, name, value, index, result) -> _Parameter:
    if not valid_parameter_name(name):
        raise TelemetryInputError(
            "parameter names are lowercase letters, digits and underscores, starting with a letter (at most 64)",
            index=index,
            field=f"parameters.{name}"[:120],
        )
    ptype = infer_type(value)
    if ptype is None:
        raise _type_error(index, name, "a number, true/false or a string", value)
    definition, created = ParameterDefinition.objects.get_or_create(
        spacecraft=sc, name=name, defaults={"declared": False, "type": ptype}
    )
    if created:
        result.registered.append(f"{sc.designation}/{name}")
    return _Parameter(definition)


def _claim_enum_code(p: _Parameter, value: str, index: int, name: str) -> int:
    """The code of a string new to an undeclared enum. On the batch's first new string the row is
    locked and re-read, so two concurrent batches never give two strings one code (the second
    waits, then sees the first's codes); codes only grow, so those this batch used stay valid."""
    if p.enum_codes is None:
        row = (
            ParameterDefinition.objects.select_for_update().values("declared", "enum_values", "enum_codes").get(pk=p.id)
        )
        if row["declared"] and value not in row["enum_values"]:  # declared meanwhile
            raise TelemetryInputError(
                f"{value!r} is not one of {', '.join(row['enum_values'])}", index=index, field=f"parameters.{name}"
            )
        p.enum_codes, p.enum_values = list(row["enum_codes"]), list(row["enum_values"])
    p.enum_codes = with_codes(p.enum_codes, [value])
    if value not in p.enum_values:
        p.enum_values.append(value)
    p.enum_index[value] = code = p.enum_codes.index(value)
    p.changed = True
    return code


def _save_changed_definitions(params) -> None:
    for known in params.values():
        for p in known.values():
            if p.changed:
                # A copy: the definition is shared (definitions_for), and this batch may yet roll back.
                p.definition = copy.copy(p.definition)
                p.definition.type = p.type
                fields = ["type"]
                if p.enum_codes is not None:
                    p.definition.enum_values, p.definition.enum_codes = p.enum_values, p.enum_codes
                    fields += ["enum_values", "enum_codes"]
                p.definition.save(update_fields=fields)


def _update_latest(cursor, pids, times, values) -> list[tuple[int, dt.datetime, float]]:
    """Upsert the newest sample per parameter of this batch; returns the rows that changed."""
    last = np.flatnonzero(np.r_[pids[1:] != pids[:-1], True])
    cursor.execute(
        "INSERT INTO telemetry_latestvalue (parameter_id, time, value) "
        "SELECT * FROM unnest(%s::integer[], %s::timestamptz[], %s::double precision[]) "
        "ON CONFLICT (parameter_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value "
        "WHERE telemetry_latestvalue.time <= EXCLUDED.time RETURNING parameter_id, time, value",
        [pids[last].tolist(), [archive.from_us(t) for t in times[last].tolist()], values[last].tolist()],
    )
    return cursor.fetchall()


def _count_per_spacecraft(pids, params) -> dict:
    sc_of = {p.id: sc_pk for sc_pk, known in params.items() for p in known.values()}
    unique, counts = np.unique(pids, return_counts=True)
    per_sc: dict = {}
    for pid, count in zip(unique.tolist(), counts.tolist(), strict=True):
        per_sc[sc_of[pid]] = per_sc.get(sc_of[pid], 0) + count
    return per_sc


# --- scopes -----------------------------------------------------------------------------------


def writable_scope_for(user) -> tuple[QuerySet[Spacecraft], Callable[[Spacecraft], bool]]:
    """What a user's batch may name (their visible spacecraft) and who may write (operators).
    Both are checked by the query that resolves the batch's spacecraft (see telemetry.access)."""
    from spacecraft.selectors import can_operate

    def may_write(sc: Spacecraft) -> bool:
        granted = getattr(sc, "may_operate", None)  # None: resolved from some other scope
        return can_operate(user, sc) if granted is None else granted

    return access.writable_spacecraft(user), may_write


def organization_scope(organization: Organization) -> QuerySet[Spacecraft]:
    return Spacecraft.objects.filter(organization=organization)


def record_injected_fault(*, spacecraft: Spacecraft, fault) -> "InjectedFault":
    """Store a simulator fault with its times: the ground truth later detection is scored against."""
    return InjectedFault.objects.create(
        spacecraft=spacecraft,
        parameter=fault.parameter,
        kind=fault.kind,
        started_at=fault.started_at,
        ended_at=fault.ended_at,
        magnitude=fault.magnitude,
    )


# --- archive maintenance ----------------------------------------------------------------------


def create_partitions_ahead(*, days_ahead: int | None = None, today: dt.date | None = None) -> list[str]:
    """Make sure the partitions from yesterday to `days_ahead` days ahead exist. Idempotent."""
    days_ahead = days_ahead if days_ahead is not None else getattr(settings, "TELEMETRY_PARTITIONS_AHEAD_DAYS", 7)
    today = today or timezone.now().date()
    return archive.ensure_partitions([today + dt.timedelta(days=n) for n in range(-1, days_ahead + 1)])


def roll_up(*, limit: int = 10_000) -> int:
    """Roll up pending minutes, and the hours they fall in; returns how many minutes. Safe to run
    concurrently with ingest and itself (runs are serialised), and to re-run (nothing is counted twice)."""
    return archive.roll_up_pending(limit=limit)


def default_raw_days() -> int:
    return getattr(settings, "TELEMETRY_RAW_RETENTION_DAYS", 30)


def set_retention(*, organization: Organization, raw_days: int) -> RetentionPolicy:
    from missionops.exceptions import DomainError

    if not isinstance(raw_days, int) or raw_days < 1:
        raise DomainError("raw_days must be a whole number of days, at least 1", field="raw_days")
    policy, _ = RetentionPolicy.objects.update_or_create(organization=organization, defaults={"raw_days": raw_days})
    return policy


def apply_retention(*, now: dt.datetime | None = None) -> dict:
    """Drop raw day partitions older than every organization's retention, and delete the older raw
    rows of organizations that keep less. Minute and hour roll-ups are kept (pending minutes are
    rolled up first, so nothing unrolled is lost); only those of deleted parameters go. Idempotent."""
    now = now or timezone.now()
    roll_up(limit=1_000_000)
    default_days = default_raw_days()
    policies = dict(RetentionPolicy.objects.values_list("organization_id", "raw_days"))
    org_days = {
        org_id: policies.get(org_id, default_days) for org_id in Organization.objects.values_list("pk", flat=True)
    }
    longest = max(org_days.values(), default=default_days)
    cutoff_day = (now - dt.timedelta(days=longest)).date()
    dropped = archive.drop_partitions_before(cutoff_day)
    deleted = 0
    with connection.cursor() as cursor:
        for org_id, days in org_days.items():
            if days >= longest:
                continue
            cursor.execute(
                "DELETE FROM telemetry_sample WHERE time < %s AND parameter_id IN ("
                " SELECT d.id FROM telemetry_parameterdefinition d JOIN spacecraft_spacecraft s"
                " ON s.id = d.spacecraft_id WHERE s.organization_id = %s)",
                [now - dt.timedelta(days=days), org_id],
            )
            deleted += cursor.rowcount
        for table in ("telemetry_minute_rollup", "telemetry_hour_rollup"):
            cursor.execute(
                f"DELETE FROM {table} r WHERE NOT EXISTS ("
                " SELECT 1 FROM telemetry_parameterdefinition d WHERE d.id = r.parameter_id)"
            )
    return {"dropped_partitions": dropped, "deleted_rows": deleted}


def record_runtime_telemetry(*, spacecraft, runtime: dict, **kwargs) -> None:
    """Receiver of spacecraft.signals.command_executed: what the on-board software reports after a
    command, through the real ingest path (same transaction: a failed command stores none of it)."""
    parameters = {
        "commands_executed": runtime["commands_executed"],
        "payload_on": bool(runtime.get("payload_on", False)),
        "boot_count": runtime.get("boot_count", 0),
    }
    if "images_captured" in runtime:
        parameters["images_captured"] = runtime["images_captured"]
    snapshot = {"spacecraft": str(spacecraft.pk), "timestamp": timezone.now().isoformat(), "parameters": parameters}
    ingest(snapshots=[snapshot], scope=organization_scope(spacecraft.organization))
