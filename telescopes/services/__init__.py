"""The only code that writes the telescopes' records, by concept: observatories and their devices,
device operations (requests, their handlers and their records), device health (monitoring),
optical tracking sessions and the exposures both store. The public names are re-exported here."""

from .exposures import store_exposure
from .monitoring import apply_status, check_all_devices, check_device, refresh_device_status
from .observatories import (
    OBSERVATORY_FIELDS,
    DiscoveryReport,
    add_device,
    create_observatory,
    delete_observatory,
    discover_devices,
    read_name,
    remove_device,
    update_observatory,
)
from .operations import advance_operation, check_horizon, request_operation, run_operation, sweep_operations
from .tracking import abort_session, advance_session, find_passes, run_session, start_session

__all__ = [
    "OBSERVATORY_FIELDS",
    "DiscoveryReport",
    "abort_session",
    "add_device",
    "advance_operation",
    "advance_session",
    "apply_status",
    "check_all_devices",
    "check_device",
    "check_horizon",
    "create_observatory",
    "delete_observatory",
    "discover_devices",
    "find_passes",
    "read_name",
    "refresh_device_status",
    "remove_device",
    "request_operation",
    "run_operation",
    "run_session",
    "start_session",
    "store_exposure",
    "sweep_operations",
    "update_observatory",
]
