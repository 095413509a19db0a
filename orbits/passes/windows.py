"""What a pass search gives back: the stations asked about, the windows found, where SGP4 stopped;
and the plain arrays the search (and its worker processes) produce them from."""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

# Short names of SGP4's error codes (sgp4.api.SGP4_ERRORS has the long ones).
SGP4_ERROR_NAMES = {
    1: "mean eccentricity out of range",
    2: "mean motion below zero",
    3: "eccentricity out of range",
    4: "semi-latus rectum below zero",
    5: "sub-orbital",
    6: "decayed",
}


@dataclass(frozen=True)
class Station:
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    min_elevation_deg: float


@dataclass
class PassWindow:
    satellite: int  # index into the satrecs given
    station: int  # index into the stations given
    aos: datetime
    los: datetime
    tca: datetime
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    continuous: bool = False
    cut_at_start: bool = False  # in progress at the window's start: aos is the window's start
    cut_at_end: bool = False  # in progress at the window's end: los is the window's end
    sgp4_end: bool = False  # los is where SGP4 stopped (see Prediction.failures)

    @property
    def duration_s(self) -> float:
        return (self.los - self.aos).total_seconds()


@dataclass(frozen=True)
class SGP4Failure:
    """Where SGP4 stopped for one spacecraft: `last_valid` is None when it failed from the first
    sample on (before the window, or the set is unusable)."""

    code: int
    failed_at: datetime
    last_valid: datetime | None

    @property
    def error(self) -> str:
        return SGP4_ERROR_NAMES.get(self.code, f"SGP4 error {self.code}")


@dataclass
class Prediction:
    windows: list[PassWindow]
    failures: dict[int, SGP4Failure]  # satellite index -> where its prediction ended


TABLE = np.dtype(
    [
        ("satellite", np.int64),
        ("station", np.int64),
        ("aos", float),
        ("los", float),
        ("tca", float),
        ("max_elevation_deg", float),
        ("aos_azimuth_deg", float),
        ("los_azimuth_deg", float),
        ("continuous", bool),
        ("cut_at_start", bool),
        ("cut_at_end", bool),
        ("sgp4_end", bool),
    ]
)
FAILURES = np.dtype([("satellite", np.int64), ("code", np.int64), ("failed_at", float), ("last_valid", float)])


def windows_from_table(table: np.ndarray, start: datetime, end: datetime) -> list[PassWindow]:
    epoch_s = start.timestamp()

    def when(seconds: np.ndarray) -> list[datetime]:
        return [datetime.fromtimestamp(x, UTC) for x in (np.round((epoch_s + seconds) * 1e3) / 1e3).tolist()]

    columns = zip(
        table["satellite"].tolist(),
        table["station"].tolist(),
        when(table["aos"]),
        when(table["los"]),
        when(table["tca"]),
        table["max_elevation_deg"].tolist(),
        table["aos_azimuth_deg"].tolist(),
        table["los_azimuth_deg"].tolist(),
        table["continuous"].tolist(),
        table["cut_at_start"].tolist(),
        table["cut_at_end"].tolist(),
        table["sgp4_end"].tolist(),
        strict=True,
    )
    windows = [PassWindow(*c) for c in columns]
    for w in windows:  # a window cut at an edge ends exactly there, not at the millisecond
        w.aos = start if w.cut_at_start else w.aos
        w.los = end if w.cut_at_end else w.los
        w.tca = min(max(w.tca, w.aos), w.los)
    return windows


def failures_from_table(failures: np.ndarray, start: datetime) -> dict[int, SGP4Failure]:
    epoch_s = start.timestamp()

    def when(seconds: float) -> datetime | None:
        return None if not np.isfinite(seconds) else datetime.fromtimestamp(round(epoch_s + seconds, 3), UTC)

    return {
        int(f["satellite"]): SGP4Failure(int(f["code"]), when(f["failed_at"]), when(f["last_valid"])) for f in failures
    }
