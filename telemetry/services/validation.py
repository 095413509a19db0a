"""Validating an ingest batch: resolving its spacecraft, parsing times, checking every value
against its parameter's type (the hot loop), registering undeclared parameters and enum strings."""

import contextlib
import copy
import datetime as dt
import math
import uuid

import numpy as np
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from missionops.prepared import prepared
from spacecraft.config import MAX_EXACT_INT
from spacecraft.models import ParameterType

from .. import access, archive
from ..exceptions import IngestForbidden, TelemetryInputError
from ..models import ParameterDefinition
from ..selectors import with_stamps
from ..signals import BatchParameter
from .definitions import infer_type, valid_parameter_name, with_codes

FLOAT, INT, BOOL, ENUM = ParameterType.FLOAT, ParameterType.INT, ParameterType.BOOL, ParameterType.ENUM
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
STAMP_TYPES = (str, dt.datetime)  # an ISO 8601 string, or a MessagePack timestamp
COPY_CHUNK = 8192  # samples per piece of the streamed COPY (~280 kB)
NEEDS_DB = object()  # yielded by validated_chunks before it runs a query (registering a parameter)
NUMBER_TYPES = frozenset((float, int))  # exact types: bool, a subclass of int, is not a number here


def max_future_s() -> float:
    """How far ahead of now a sample time may lie (TELEMETRY_MAX_FUTURE_S): clock errors, not data."""
    return settings.TELEMETRY_MAX_FUTURE_S


def resolve_spacecraft(*, snapshots, scope, may_write) -> dict:
    """{reference: spacecraft} for every snapshot, in `scope`; refuses what `may_write` does not allow."""
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
    if isinstance(scope, access.WritableScope):  # a user's: one statement, written once per process
        found = scope.named(ids=list(ids.values()), designations=list(refs))
    else:
        named = scope.filter(Q(pk__in=ids.values()) | Q(designation__in=refs)).select_related("organization")
        with prepared():  # planning this query (guardian's grants) costs several times running it
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


def snapshot_times(*, snapshots, time_cache: dict) -> np.ndarray:
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


def validated_chunks(*, snapshots, by_ref, params, result, time_cache: dict):
    """The hot loop: one pass, type checks inline, times once per snapshot (repeated afterwards).
    Yields (pids, times, values) arrays of about COPY_CHUNK samples, in snapshot order, and
    NEEDS_DB before it registers an undeclared parameter."""
    now = timezone.now()
    # Snapshots of one spacecraft nearly always carry the same parameter names in the same order.
    # For such a name tuple whose parameters are all floats, the ids are looked up once and a
    # snapshot is checked with one set of its value types (C loops): only when a value is not a
    # number does the snapshot go through the per-value loop, which names the culprit.
    float_plans: dict = {}
    snapshot_times, snapshot_counts, pids, values = [], [], [], []
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
        snapshot_values = parameters.values()
        if plan and NUMBER_TYPES.issuperset(map(type, snapshot_values)):
            values.extend(snapshot_values)
            pids.extend(plan)
        else:
            yield from _checked_values(sc, known, parameters, index, result, pids, values)
        snapshot_times.append(us)
        snapshot_counts.append(len(parameters))
        if len(values) >= COPY_CHUNK:
            yield _arrays(snapshot_times, snapshot_counts, pids, values)
    if values:
        yield _arrays(snapshot_times, snapshot_counts, pids, values)


def _checked_values(sc, known: dict, parameters: dict, index: int, result, pids: list, values: list):
    """The per-value loop of one snapshot: appends its ids and values, or raises naming the culprit;
    yields NEEDS_DB before it registers a parameter or an enum string."""
    add_pid, add_value = pids.append, values.append
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
                _check_new_enum_string(p, value, index, name)
                yield NEEDS_DB
                position = _claim_enum_code(p, value, index, name)
            add_value(float(position))
        add_pid(p.id)


def _check_new_enum_string(p: BatchParameter, value, index: int, name: str) -> None:
    """Raises unless `value` is a string an undeclared enum may learn."""
    if type(value) is not str:
        raise _type_error(index, name, "one of the enum's strings", value)
    if p.definition.declared:
        raise TelemetryInputError(
            f"{value!r} is not one of {', '.join(p.enum_index)}", index=index, field=f"parameters.{name}"
        )
    if len(value) > 64 or "\x00" in value:
        raise TelemetryInputError(
            "a new enum string has at most 64 characters and no NUL", index=index, field=f"parameters.{name}"
        )


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


def raise_inexact_number(snapshots) -> None:
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


def _register_undeclared(sc, name, value, index, result) -> BatchParameter:
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
    return BatchParameter(definition)


def _claim_enum_code(p: BatchParameter, value: str, index: int, name: str) -> int:
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
    p.enum_codes = with_codes(codes=p.enum_codes, values=[value])
    if value not in p.enum_values:
        p.enum_values.append(value)
    p.enum_index[value] = code = p.enum_codes.index(value)
    p.changed = True
    return code


def save_changed_definitions(*, params: dict) -> None:
    """Save the definitions this batch widened or gave new enum strings (on a copy of each)."""
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
