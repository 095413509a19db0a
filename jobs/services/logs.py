"""A job's log lines: written by operators' actions, the DAG and the workers, pushed live."""

from ..live_messages import publish_log
from ..models import Job, JobLog


def add_log(*, job: Job, message: str, level: str = "info") -> JobLog:
    """Append a line to the job's log for its current attempt and push it to the job's page."""
    log = JobLog.objects.create(job=job, message=message, level=level, attempt=job.attempts)
    publish_log(log, organization_id=job.organization_id)
    return log
