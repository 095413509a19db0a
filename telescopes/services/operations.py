"""Device operations as asynchronous records.

`request_operation` validates (permissions are the API's job), stores a pending Operation with a
deadline and, after commit, enqueues its first step. `advance_operation` is one step: it claims a
pending operation (a conditional UPDATE, so a re-delivered task cannot start it twice), sends the
command, and on later steps reads the device until the command is done. Between steps the worker
is free, so an abort is never stuck behind a slew. Every failure ends the record with a sentence
(device offline, device refused, timed out); `sweep_operations` ends whatever a lost worker left
open past its deadline, so no operation stays pending or running. The handlers of each kind are in
operation_handlers.py, the end of a record in operation_records.py.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from missionops.services import record_event
from missionops.tenancy import user_or_none

from .. import astro, client
from ..exceptions import BelowHorizonError, TelescopeError
from ..models import FINISHED_STATUSES, AlpacaDevice, DeviceType, Operation, OperationKind, OperationStatus
from .operation_handlers import HANDLERS, MOTION_KINDS, Done
from .operation_records import finish_operation, publish_operation

logger = logging.getLogger(__name__)

POLL_S = 0.5
SWEEP_GRACE_S = 15.0

KIND_DEVICE_TYPES = {
    OperationKind.UNPARK: {DeviceType.TELESCOPE},
    OperationKind.PARK: {DeviceType.TELESCOPE},
    OperationKind.SLEW_RADEC: {DeviceType.TELESCOPE},
    OperationKind.SLEW_ALTAZ: {DeviceType.TELESCOPE},
    OperationKind.ABORT: {DeviceType.TELESCOPE},
    OperationKind.TRACKING: {DeviceType.TELESCOPE},
    OperationKind.EXPOSE: {DeviceType.CAMERA},
    OperationKind.FOCUSER_MOVE: {DeviceType.FOCUSER},
    OperationKind.DOME_OPEN: {DeviceType.DOME},
    OperationKind.DOME_CLOSE: {DeviceType.DOME},
}
DEFAULT_TIMEOUT_S = {
    OperationKind.PARK: 180.0,
    OperationKind.UNPARK: 60.0,
    OperationKind.SLEW_RADEC: 180.0,
    OperationKind.SLEW_ALTAZ: 180.0,
    OperationKind.FOCUSER_MOVE: 120.0,
    OperationKind.DOME_OPEN: 180.0,
    OperationKind.DOME_CLOSE: 180.0,
}


# -- requests -------------------------------------------------------------------------------------


def check_horizon(*, observatory, altitude_deg: float, what: str) -> None:
    """Refuse (BelowHorizonError) a pointing below the observatory's horizon limit."""
    if altitude_deg < observatory.horizon_limit_deg:
        raise BelowHorizonError(
            f"{what} is at altitude {altitude_deg:.2f}°, below the horizon limit of {observatory.name} "
            f"({observatory.horizon_limit_deg:g}°): slew refused",
            field="altitude_deg" if what.startswith("Alt") else "dec_deg",
        )


def _validate(device: AlpacaDevice, kind: str, params: dict) -> dict:
    allowed = KIND_DEVICE_TYPES.get(kind)
    if allowed is not None and device.device_type not in allowed:
        raise TelescopeError(f"{kind} is not an operation of a {device.device_type}", field="kind")
    observatory = device.observatory
    if kind == OperationKind.SLEW_RADEC:
        now = timezone.now()
        ra, dec = astro.convert_radec(
            params["ra_hours"], params["dec_deg"], from_jd=astro.J2000_JD, to_jd=astro.julian_date(now)
        )
        altitude, _ = astro.altaz_of_date(
            ra, dec, latitude_deg=observatory.latitude_deg, longitude_deg=observatory.longitude_deg, when=now
        )
        check_horizon(observatory=observatory, altitude_deg=altitude, what="RA/Dec target")
    elif kind == OperationKind.SLEW_ALTAZ:
        check_horizon(observatory=observatory, altitude_deg=params["altitude_deg"], what="Alt/Az target")
    elif kind == OperationKind.EXPOSE:
        if params.get("duration_s", 0) < 0:
            raise TelescopeError("duration_s must not be negative", field="duration_s")
    return params


def request_operation(
    *,
    device: AlpacaDevice,
    kind: str,
    params: dict | None = None,
    actor=None,
    timeout_s: float | None = None,
    enqueue: bool = True,
) -> Operation:
    """Store a pending operation on `device` and, after commit, hand it to a worker.

    400 when the request is refused (e.g. a slew below the horizon limit). The record, not the HTTP
    call, carries the outcome."""
    params = _validate(device, kind, dict(params or {}))
    if timeout_s is None:
        timeout_s = DEFAULT_TIMEOUT_S.get(kind, 30.0)
        if kind == OperationKind.EXPOSE:
            timeout_s = params.get("duration_s", 0) + 90.0
    now = timezone.now()
    with transaction.atomic():
        operation = Operation.objects.create(
            device=device,
            kind=kind,
            params=params,
            requested_by=user_or_none(actor),
            timeout_s=timeout_s,
            deadline=now + timedelta(seconds=timeout_s),
        )
        record_event(
            organization=device.observatory.organization,
            kind="telescope.operation.requested",
            subject=device,
            actor=actor,
            payload={"operation": operation.pk, "kind": kind, "params": params},
        )
        publish_operation(operation)
        if enqueue:
            # By name: the tasks module imports this one, never the reverse.
            task = import_string("telescopes.tasks.advance_operation_task")
            transaction.on_commit(lambda: task.delay(operation.pk))
    return operation


# -- steps ----------------------------------------------------------------------------------------


def advance_operation(*, operation_id: int) -> float | None:
    """Carry one step of an operation; seconds until the next step, or None once it has ended.

    None also when it is gone. Safe to run twice: only one run claims a pending operation."""
    now = timezone.now()
    claimed = Operation.objects.filter(pk=operation_id, status=OperationStatus.PENDING).update(
        status=OperationStatus.RUNNING, started_at=now
    )
    try:
        operation = Operation.objects.select_related("device__observatory__organization").get(pk=operation_id)
    except Operation.DoesNotExist:
        return None
    if operation.status != OperationStatus.RUNNING:
        return None
    device = operation.device
    handler = HANDLERS[operation.kind]
    if not claimed and now > operation.deadline:
        _stop_motion(operation)
        finish_operation(
            operation=operation,
            status=OperationStatus.TIMED_OUT,
            error=f"{operation.get_kind_display()} did not finish within {operation.timeout_s:g} s",
        )
        return None
    try:
        outcome = (
            handler.start(operation, client.client_for(device))
            if claimed
            else handler.poll(operation, client.client_for(device))
        )
    except Exception as error:  # every device failure ends the record with a clear sentence
        explained = client.explain(error, device)
        if not isinstance(error, client.DeviceError | TelescopeError) and not explained.offline:
            logger.warning("operation %s failed", operation_id, exc_info=True)
        finish_operation(
            operation=operation, status=OperationStatus.FAILED, error=explained.message, offline=explained.offline
        )
        return None
    if isinstance(outcome, Done):
        finish_operation(operation=operation, status=OperationStatus.SUCCEEDED, result=outcome.result)
        return None
    changed = Operation.objects.filter(pk=operation.pk, status=OperationStatus.RUNNING).update(
        result={**operation.result, **outcome.progress}
    )
    return POLL_S if changed else None


def run_operation(*, operation: Operation, poll_s: float = POLL_S) -> Operation:
    """Drive an operation to its end in this process (management commands, tests)."""
    import time

    while (delay := advance_operation(operation_id=operation.pk)) is not None:
        time.sleep(min(delay, poll_s))
    operation.refresh_from_db()
    return operation


def _stop_motion(operation: Operation) -> None:
    if operation.kind in MOTION_KINDS:
        try:
            client.client_for(operation.device).AbortSlew()
        except Exception:  # best effort: the operation is failing anyway
            logger.info("abort after timeout of operation %s failed", operation.pk, exc_info=True)


def sweep_operations(*, now=None) -> int:
    """End operations still open well past their deadline (their worker died or never came)."""
    now = now or timezone.now()
    stale = Operation.objects.filter(
        status__in=[OperationStatus.PENDING, OperationStatus.RUNNING],
        deadline__lt=now - timedelta(seconds=SWEEP_GRACE_S),
    ).select_related("device__observatory__organization")
    ended = 0
    for operation in stale:
        never_started = operation.status == OperationStatus.PENDING
        reason = "no worker picked it up" if never_started else "its worker stopped answering"
        ended += finish_operation(
            operation=operation,
            status=OperationStatus.TIMED_OUT,
            error=f"not finished within {operation.timeout_s:g} s: {reason}",
        )
    return ended


assert all(status in OperationStatus.values for status in FINISHED_STATUSES)
