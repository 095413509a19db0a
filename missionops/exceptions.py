"""Domain errors shared by every app. The API's exception handler turns them into 400 / 404 / 409."""


class DomainError(Exception):
    """A request the domain refuses. `field` names the input at fault, when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """Nothing the caller may see has that name or id (HTTP 404): selectors raise it, not Http404."""

    status_code = 404


class ConflictError(DomainError):
    """The request is well-formed but clashes with the current state (HTTP 409)."""

    status_code = 409
