"""A job's log lines: written by operators' actions, the DAG and the workers, pushed live."""

from ..live_messages import publish_log
from ..models import Job, JobLog


def add_log(*, job: Job, message: str, level: str = "info") -> JobLog:
    """Append a line to the job's log for its current attempt and push it to the job's page."""
    log = JobLog.objects.create(job=job, message=message, level=level, attempt=job.attempts)
    publish_log(log, organization_id=job.organization_id)
    return log


def add_attempt_log(*, job_id: int, organization_id: int, attempt: int, message: str, level: str = "info") -> JobLog:
    """Append a line a running workload logs (the worker holds the job's id, not its row) and push it."""
    log = JobLog.objects.create(job_id=job_id, message=message, level=level, attempt=attempt)
    publish_log(log, organization_id=organization_id)
    return log
