"""What the telemetry app announces to the apps above it (they connect in their AppConfig.ready)."""

from dataclasses import dataclass

import numpy as np
from django.dispatch import Signal


@dataclass(frozen=True)
class StoredBatch:
    """One ingested batch as the archive stored it: arrays sorted by parameter, then time (times in
    µs since 2000-01-01); `spacecraft` by pk, `params` the batch's parameter definitions by pk;
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
