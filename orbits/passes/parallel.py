"""The pass search for TLE line pairs, dealt across worker processes when the catalogue is large
(the SGP4 core holds the GIL)."""

from datetime import datetime

import numpy as np

from .. import propagation as prop
from .search import predict_table, prediction
from .windows import PassWindow, Prediction, Station, failures_from_table, windows_from_table

PARALLEL_MIN_PAIRS = 2000  # below this many satellite × station pairs one process is faster


def _predict_chunk(lines, stations, start, end):
    return predict_table([prop.satrec_from_lines(a, b) for a, b in lines], stations, start, end)


def predict_lines(
    lines: list[tuple[str, str]], stations: list[Station], start: datetime, end: datetime, *, processes: int = 2
) -> list[PassWindow]:
    """`predict` for TLE line pairs, the satellites dealt across `processes` worker processes
    (the SGP4 core holds the GIL) when there are enough of them."""
    return prediction_lines(lines, stations, start, end, processes=processes).windows


def prediction_lines(
    lines: list[tuple[str, str]], stations: list[Station], start: datetime, end: datetime, *, processes: int = 2
) -> Prediction:
    """`prediction` for TLE line pairs, across `processes` processes when there are enough
    satellite × station pairs. Workers send back plain arrays; the windows are made here."""
    if processes <= 1 or len(lines) * len(stations) < PARALLEL_MIN_PAIRS:
        return prediction([prop.satrec_from_lines(a, b) for a, b in lines], stations, start, end)
    pool = prop.get_pool(processes - 1)
    # Dealt round-robin, so a catalogue sorted by orbit class still splits evenly; this process
    # computes the first share while the workers compute the others.
    shares = [np.arange(p, len(lines), processes) for p in range(processes)]
    futures = [pool.submit(_predict_chunk, [lines[i] for i in share], stations, start, end) for share in shares[1:]]
    results = [_predict_chunk([lines[i] for i in shares[0]], stations, start, end)]
    results += [future.result() for future in futures]
    for share, (table, failures) in zip(shares, results, strict=True):
        table["satellite"] = share[table["satellite"]]
        failures["satellite"] = share[failures["satellite"]]
    table = np.concatenate([table for table, _ in results])
    failures = np.concatenate([failures for _, failures in results])
    table = table[np.argsort(table["aos"], kind="stable")]
    return Prediction(windows_from_table(table, start, end), failures_from_table(failures, start))
