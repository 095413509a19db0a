"""What the telemetry app announces to the apps above it (they connect in their AppConfig.ready)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import ParameterDefinition


class BatchParameter:
    """One parameter of a batch as ingest sees it in its hot loop: the definition, its id, type and
    the codes of the enum strings it accepts. `enum_codes` / `enum_values` are the locked row's
    lists once the batch adds an enum string; `changed` when the batch widened or extended it."""

    __slots__ = ("definition", "id", "type", "enum_index", "enum_codes", "enum_values", "changed")

    def __init__(self, definition: "ParameterDefinition"):
        self.definition = definition
        self.id = definition.pk
        self.type = definition.type
        codes = {v: i for i, v in enumerate(definition.enum_codes or ())}
        self.enum_index = {v: codes[v] for v in definition.enum_values or () if v in codes}
        self.enum_codes = self.enum_values = None
        self.changed = False


@dataclass(frozen=True)
class StoredBatch:
    """One ingested batch as the archive stored it: arrays sorted by parameter, then time (times in
    µs since 2000-01-01); `spacecraft` by pk, `params` {spacecraft pk: {name: BatchParameter}};
    `stored` how many samples were new (0: the batch was sent again)."""

    spacecraft: dict
    params: dict
    pids: np.ndarray
    times: np.ndarray
    values: np.ndarray
    stored: int


# Sent inside ingest's transaction with batch=StoredBatch: the anomalies app checks limits inline
# (an ingest that rolls back records nothing).
samples_stored = Signal()
