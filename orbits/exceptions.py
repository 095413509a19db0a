"""Domain errors of the orbits app; the API's exception handler turns them into 400 / 409."""

from missionops.exceptions import ConflictError, DomainError


class TLEFormatError(DomainError):
    """An element set that cannot be used; `line` and `column` (1-based) locate the fault."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None, field: str | None = None):
        where = ", ".join(p for p in (f"line {line}" if line else "", f"column {column}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message, field=field)
        self.line, self.column, self.reason = line, column, message


class NoElementsError(DomainError):
    """A spacecraft has no TLE: nothing can be propagated for it."""


class StationConflictError(ConflictError):
    pass


class ElementSetAgeError(DomainError):
    """The element set a prediction needs is past its hard age limit (and that was not waived)."""


class CatalogueFormatError(DomainError):
    """A catalogue payload that cannot be stored (bad element set, wrong format): nothing was kept."""


class CatalogueSyncError(DomainError):
    """A catalogue source answered with an error, or could not be reached."""


class CatalogueRateLimitError(CatalogueSyncError):
    """A source's published request limit is reached: nothing was asked."""
