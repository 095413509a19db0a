"""Orbit operations: TLE import, ground stations, pass computation, fleet propagation, contact
plans, the catalogue sync (CelesTrak, Space-Track) and conjunction screening.
Import from here: `from orbits import services` / `from orbits.services import ...`."""

from .catalogue_sync import SyncResult, sync_celestrak, sync_configured, sync_spacetrack, sync_spacetrack_history
from .contacts import MAX_PICKED_PASSES, build_contact_plan, create_contact_plan_from_passes
from .elements import ImportReport, current_tle, current_tles, import_tles
from .fleet import (
    CHARGE_PCT_PER_MIN,
    ECLIPSE_DRAIN_PCT_PER_MIN,
    Position,
    ground_tracks,
    positions,
    propagate_fleet,
)
from .passes import PASS_HORIZON, announce_passes, lock_passes, recompute_passes
from .screening import import_catalogue, screen_conjunctions
from .stations import STATION_FIELDS, create_station, delete_station, update_station

__all__ = [
    "CHARGE_PCT_PER_MIN",
    "ECLIPSE_DRAIN_PCT_PER_MIN",
    "MAX_PICKED_PASSES",
    "PASS_HORIZON",
    "STATION_FIELDS",
    "ImportReport",
    "Position",
    "SyncResult",
    "announce_passes",
    "build_contact_plan",
    "create_contact_plan_from_passes",
    "create_station",
    "current_tle",
    "current_tles",
    "delete_station",
    "ground_tracks",
    "import_catalogue",
    "import_tles",
    "lock_passes",
    "positions",
    "propagate_fleet",
    "recompute_passes",
    "screen_conjunctions",
    "sync_celestrak",
    "sync_configured",
    "sync_spacetrack",
    "sync_spacetrack_history",
    "update_station",
]
