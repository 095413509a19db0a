"""Domain errors of the telescopes app: the API's exception handler makes them 400 (or 409)."""

from missionops.exceptions import DomainError


class TelescopeError(DomainError):
    """A request about observatories or devices the domain refuses."""

    def __init__(self, message: str, *, field: str | None = None, conflict: bool = False):
        super().__init__(message, field=field)
        if conflict:
            self.status_code = 409


class DiscoveryError(TelescopeError):
    pass


class BelowHorizonError(TelescopeError):
    """A slew target under the observatory's horizon limit."""


class DeviceBusyError(TelescopeError):
    def __init__(self, message: str):
        super().__init__(message, conflict=True)
