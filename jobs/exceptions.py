"""Domain errors of the job queue; missionops.api's exception handler turns them into HTTP."""

from missionops.exceptions import ConflictError, DomainError


class JobParamsError(DomainError):
    """Params (or footprint) that the job kind refuses: 400 naming the field."""


class JobStateError(ConflictError):
    """The operation does not fit the job's state (e.g. retry a running job): 409."""


class QuotaExceeded(DomainError):
    """An organization limit is reached: 429 naming the limit."""

    status_code = 429

    def __init__(self, message: str, *, limit: str):
        super().__init__(message, field=limit)
        self.limit = limit


class JobCanceled(Exception):
    """Raised inside a running workload when cancellation was requested."""


class LeaseLost(Exception):
    """The worker no longer owns the job (the sweeper re-queued it): stop without writing."""


class TileInputInUse(ConflictError):
    """An uploaded tile input that open jobs or templates still name cannot be deleted: 409."""


class PermanentJobError(Exception):
    """Raised by a workload for a failure no retry can fix: the job fails at once, whatever
    attempts it has left."""


class TileInputUnavailable(PermanentJobError):
    """A tile job names an uploaded input that is gone (deleted after submit) or damaged."""
