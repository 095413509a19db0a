"""Telemetry's domain errors (turned into HTTP by missionops.api.exception_handler)."""

from missionops.exceptions import DomainError


class TelemetryInputError(DomainError):
    """An invalid item in a batch: names the item index (or, in NDJSON, its physical line from 1)
    and the field. Nothing of the batch is written."""

    def __init__(self, message: str, *, index: int | None = None, field: str = "", line: int | None = None):
        self.index, self.line, self.bare_message, self.item_field = index, line, message, field
        if line is not None:
            where, prefix = f"lines[{line}]", f"line {line}"
        elif index is not None:
            where, prefix = f"items[{index}]", f"item {index}"
        else:
            where, prefix = "items", "batch"
        full_field = f"{where}.{field}" if field else where
        super().__init__(f"{prefix}: {field + ': ' if field else ''}{message}", field=full_field)

    def on_line(self, line: int) -> "TelemetryInputError":
        """The same error about NDJSON line `line`."""
        return TelemetryInputError(self.bare_message, field=self.item_field, line=line)


class IngestForbidden(DomainError):
    """The caller may see the spacecraft but not operate it, so may not write its telemetry."""

    status_code = 403


class PayloadTooLarge(DomainError):
    status_code = 413


class SeriesQueryError(DomainError):
    """A series / export query the archive cannot answer (bad range, unknown parameter)."""
