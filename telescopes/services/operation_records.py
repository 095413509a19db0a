"""An operation's record as others see it: its live message (its REST representation), and its
end, written once."""

from django.db import transaction
from django.utils import timezone

from missionops import live
from missionops.services import record_event

from ..models import Operation, OperationStatus
from ..representations import OperationSerializer


def publish_operation(operation: Operation) -> None:
    """Push the operation's REST representation on the `telescopes` topic."""
    message = live.live_message("operation", OperationSerializer, operation)
    live.publish("telescopes", message, organization=operation.device.observatory.organization)


def finish_operation(
    *, operation: Operation, status: str, result: dict | None = None, error: str = "", offline: bool = False
) -> bool:
    """End a running operation once (a conditional update: an abort may have ended it already)."""
    now = timezone.now()
    merged = {**operation.result, **(result or {})}
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=operation.pk, status__in=[OperationStatus.PENDING, OperationStatus.RUNNING]
        ).update(status=status, result=merged, error=error[:2000], finished_at=now)
        if not updated:
            return False
        operation.status, operation.result, operation.error, operation.finished_at = status, merged, error, now
        record_event(
            organization=operation.device.observatory.organization,
            kind=f"telescope.operation.{status}",
            subject=operation.device,
            actor=operation.requested_by,
            payload={"operation": operation.pk, "kind": operation.kind, "error": error, "offline": offline},
        )
        publish_operation(operation)
    if status == OperationStatus.SUCCEEDED:
        from .monitoring import refresh_device_status

        refresh_device_status(device=operation.device)
    return True
