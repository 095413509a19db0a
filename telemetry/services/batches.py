"""Ingest: the one path every interface (REST, WebSocket, MQTT, the simulator) stores telemetry by."""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from missionops.metrics import INGEST_DURATION, SAMPLES_INGESTED
from missionops.services import mirror_telemetry
from spacecraft.config import MAX_EXACT_INT
from spacecraft.models import Spacecraft

from .. import live_values
from ..access import WritableScope
from ..exceptions import TelemetryInputError
from ..mirror import mirror_batches
from ..models import Interface
from ..signals import BatchParameter, StoredBatch, samples_stored
from . import sample_writes, validation
from .archive import ensure_partitions_for_us
from .definitions import definitions_for_ingest


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


def ingest(
    *,
    snapshots: list,
    scope: "QuerySet[Spacecraft] | WritableScope",
    may_write: Callable[[Spacecraft], bool] | None = None,
    interface: Interface | str = Interface.SERVICE,
) -> IngestResult:
    """Instrumented entry point (Prometheus: samples stored, batch duration); see store_batch."""
    with INGEST_DURATION.labels(str(interface)).time():
        result = store_batch(snapshots=snapshots, scope=scope, may_write=may_write, interface=interface)
    SAMPLES_INGESTED.labels(str(interface)).inc(result.stored)
    return result


def store_batch(
    *,
    snapshots: list,
    scope: "QuerySet[Spacecraft] | WritableScope",
    may_write: Callable[[Spacecraft], bool] | None = None,
    interface: Interface | str = Interface.SERVICE,
) -> IngestResult:
    """Validate a batch of snapshots and store it, all or nothing.

    A snapshot is `{"spacecraft": <uuid or designation>, "timestamp": <ISO 8601 with offset>,
    "parameters": {name: value}}`. Spacecraft are resolved in `scope`, a queryset or a user's
    WritableScope (anything outside it is unknown); `may_write(sc)` False refuses the batch
    (IngestForbidden). Any invalid item raises TelemetryInputError naming its index and field, and
    nothing is written.

    Guarantees: samples are stored as if by INSERT ... ON CONFLICT DO NOTHING on (parameter, time)
    (see sample_writes.validate_and_copy for how), so a re-sent batch stores nothing twice; latest values, new
    undeclared definitions and roll-up marks are written in the same transaction; changed latest
    values are published live (coalesced) after commit.
    """
    if not isinstance(snapshots, list):
        raise TelemetryInputError("a batch is a list of snapshots")
    result = IngestResult(received=0)
    if not snapshots:
        return result
    with transaction.atomic():
        by_ref = validation.resolve_spacecraft(snapshots=snapshots, scope=scope, may_write=may_write)
        definitions = definitions_for_ingest(spacecraft=list({sc.pk: sc for sc in by_ref.values()}.values()))
        params = {pk: {name: BatchParameter(d) for name, d in defs.items()} for pk, defs in definitions.items()}
        # The COPY holds the connection while the batch is validated, so partitions are made first.
        time_cache: dict = {}
        ensure_partitions_for_us(times_us=validation.snapshot_times(snapshots=snapshots, time_cache=time_cache))
        try:
            with connection.cursor() as cursor:
                chunks = validation.validated_chunks(
                    snapshots=snapshots, by_ref=by_ref, params=params, result=result, time_cache=time_cache
                )
                pids, times, values, stored = sample_writes.validate_and_copy(cursor=cursor, chunks=chunks)
        except OverflowError:  # an integer no double holds
            validation.raise_inexact_number(snapshots)
            raise
        # One vectorised test per batch; only a batch that fails it is searched value by value
        # (strictly below: 2**53 + 1 arrives here rounded to 2**53).
        if not np.abs(values).max(initial=0.0) < MAX_EXACT_INT:
            validation.raise_inexact_number(snapshots)
        result.received = len(pids)
        validation.save_changed_definitions(params=params)
        order = np.lexsort((times, pids))  # by parameter, then time: what the steps below expect
        pids, times, values = pids[order], times[order], values[order]
        if stored is None and len(pids) <= sample_writes.SMALL_BATCH:
            stored, changed = sample_writes.write_small_batch(pids=pids, times=times, values=values)
        else:
            with connection.cursor() as cursor:
                if stored is None:
                    stored = sample_writes.insert_samples(cursor=cursor, pids=pids, times=times, values=values)
            changed = sample_writes.update_latest_and_marks(pids=pids, times=times, values=values)
        result.stored = stored
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
            lambda: live_values.after_ingest(
                spacecraft=spacecraft_by_pk, params=params, changed=changed, counts=counts, interface=interface
            )
        )
        if settings.NATS_TELEMETRY_MIRROR:  # a copy on a JetStream stream per spacecraft, after commit
            mirrored = mirror_batches(spacecraft=spacecraft_by_pk, params=params, pids=pids, times=times, values=values)
            transaction.on_commit(lambda: mirror_telemetry(batches=mirrored))
    return result


def _count_per_spacecraft(pids, params) -> dict:
    sc_of = {p.id: sc_pk for sc_pk, known in params.items() for p in known.values()}
    unique, counts = np.unique(pids, return_counts=True)
    per_sc: dict = {}
    for pid, count in zip(unique.tolist(), counts.tolist(), strict=True):
        per_sc[sc_of[pid]] = per_sc.get(sc_of[pid], 0) + count
    return per_sc
