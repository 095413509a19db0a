"""What the on-board software reports after a command, stored through the ingest path."""

from django.utils import timezone

from .batches import ingest
from .scopes import organization_scope


def record_runtime_telemetry(*, spacecraft, runtime: dict, **kwargs) -> None:
    """Receiver of spacecraft.signals.command_executed: what the on-board software reports after a
    command, through the real ingest path (same transaction: a failed command stores none of it)."""
    parameters = {
        "commands_executed": runtime["commands_executed"],
        "payload_on": bool(runtime.get("payload_on", False)),
        "boot_count": runtime.get("boot_count", 0),
    }
    if "images_captured" in runtime:
        parameters["images_captured"] = runtime["images_captured"]
    snapshot = {"spacecraft": str(spacecraft.pk), "timestamp": timezone.now().isoformat(), "parameters": parameters}
    ingest(snapshots=[snapshot], scope=organization_scope(spacecraft.organization))
