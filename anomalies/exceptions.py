"""Domain errors of the alarm workflow; missionops.api's exception handler turns them into HTTP."""

from missionops.exceptions import ConflictError, DomainError


class AlarmStateError(ConflictError):
    """An illegal transition (acknowledge a resolved alarm, ...): 409 naming the current state."""


class AlarmPermissionError(DomainError):
    """The user may view but not operate this spacecraft: 403."""

    status_code = 403


class AnalysisInputError(DomainError):
    """A bad analysis request (unknown spacecraft reference, limit out of range): 400."""
