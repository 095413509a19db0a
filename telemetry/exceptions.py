"""Telemetry's domain errors (turned into HTTP by missionops.api.exception_handler)."""

from missionops.exceptions import DomainError


class TelemetryInputError(DomainError):
    """An invalid item in a batch: names the item index and the field. Nothing of the batch is written."""

    def __init__(self, message: str, *, index: int | None = None, field: str = ""):
        self.index = index
        where = f"items[{index}]" if index is not None else "items"
        full_field = f"{where}.{field}" if field else where
        prefix = f"item {index}" if index is not None else "batch"
        super().__init__(f"{prefix}: {field + ': ' if field else ''}{message}", field=full_field)


class IngestForbidden(DomainError):
    """The caller may see the spacecraft but not operate it, so may not write its telemetry."""

    status_code = 403


class PayloadTooLarge(DomainError):
    status_code = 413


class SeriesQueryError(DomainError):
    """A series / export query the archive cannot answer (bad range, unknown parameter)."""
