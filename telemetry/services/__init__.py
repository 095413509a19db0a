"""Telemetry operations: ingest (the one path every interface uses), archive upkeep, retention.

Other apps import from here; the modules below say where each thing lives."""

from .batches import IngestResult, ingest, store_batch
from .definitions import sync_definitions, sync_for_new_configuration
from .injected_faults import record_injected_fault
from .maintenance import create_partitions_ahead, roll_up
from .retention import apply_retention, default_raw_days, set_retention
from .runtime_telemetry import record_runtime_telemetry
from .scopes import organization_scope, writable_scope_for
from .validation import max_future_s

__all__ = [
    "IngestResult",
    "apply_retention",
    "create_partitions_ahead",
    "default_raw_days",
    "ingest",
    "max_future_s",
    "organization_scope",
    "record_injected_fault",
    "record_runtime_telemetry",
    "roll_up",
    "set_retention",
    "store_batch",
    "sync_definitions",
    "sync_for_new_configuration",
    "writable_scope_for",
]
