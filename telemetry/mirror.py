"""What an ingest batch sends to the per-spacecraft telemetry streams (missionops.services.event_stream)."""

from . import archive


def mirror_batches(*, spacecraft: dict, params: dict, pids, times, values) -> list[dict]:
    """One message per spacecraft: its samples as [parameter, ISO time, value], in batch order."""
    by_pid = {p.id: (sc_pk, name) for sc_pk, known in params.items() for name, p in known.items()}
    samples: dict = {}
    for pid, moment_us, value in zip(pids.tolist(), times.tolist(), values.tolist(), strict=True):
        sc_pk, name = by_pid[pid]
        samples.setdefault(sc_pk, []).append([name, archive.from_us(moment_us).isoformat(), value])
    return [
        {
            "organization": spacecraft[sc_pk].organization.slug,
            "spacecraft": str(sc_pk),
            "designation": spacecraft[sc_pk].designation,
            "samples": rows,
        }
        for sc_pk, rows in samples.items()
    ]
