"""Domain errors of the planning app (mapped to 400 / 409 by the platform's API handler)."""

from missionops.exceptions import ConflictError, DomainError


class RequestError(DomainError):
    """An imaging request the domain refuses; `field` names the input at fault."""


class RequestStateError(ConflictError):
    """The request is not in a state that allows this."""
