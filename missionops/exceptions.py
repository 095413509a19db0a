"""Domain errors shared by every app. The API's exception handler turns them into 400 / 409."""


class DomainError(Exception):
    """A request the domain refuses. `field` names the input at fault, when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """The request is well-formed but clashes with the current state (HTTP 409)."""

    status_code = 409
