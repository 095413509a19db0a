"""The only code that writes jobs, by concept: submission (and the specs it validates), the DAG,
operators' actions (lifecycle), templates and their schedules, quotas and usage, the workers' side
(dispatch), the GPU inventory and the uploaded tile inputs. The public names are re-exported here."""

from .dag import cancel_descendants, release_children, release_ready_jobs
from .dispatch import (
    Claimer,
    claim_jobs,
    complete_job,
    fail_job,
    heartbeat,
    retry_delay_s,
    stop_canceled_job,
    sweep_expired_leases,
    untune_planner,
)
from .inventory import busy_slots, prune_samples, record_samples, register_host_gpus
from .job_templates import delete_template, save_template, submit_from_template
from .lifecycle import cancel_job, delete_jobs, retry_job
from .logs import add_attempt_log, add_log
from .schedules import cron_of, ensure_periodic_tasks, parse_cron, set_template_schedule
from .specs import clean_spec
from .submission import MAX_BATCH, submit_job, submit_jobs
from .tile_inputs import check_upload_size, create_tile_input, delete_tile_input, in_use_reason, max_upload_bytes
from .usage import OPEN_STATES, gpu_seconds_today, quota_for, record_usage, set_quota, sync_run_slots

__all__ = [
    "MAX_BATCH",
    "OPEN_STATES",
    "Claimer",
    "add_attempt_log",
    "add_log",
    "busy_slots",
    "cancel_descendants",
    "cancel_job",
    "check_upload_size",
    "claim_jobs",
    "clean_spec",
    "complete_job",
    "create_tile_input",
    "cron_of",
    "delete_jobs",
    "delete_template",
    "delete_tile_input",
    "ensure_periodic_tasks",
    "fail_job",
    "gpu_seconds_today",
    "heartbeat",
    "in_use_reason",
    "max_upload_bytes",
    "parse_cron",
    "prune_samples",
    "quota_for",
    "record_samples",
    "record_usage",
    "register_host_gpus",
    "release_children",
    "release_ready_jobs",
    "retry_delay_s",
    "retry_job",
    "save_template",
    "set_quota",
    "set_template_schedule",
    "stop_canceled_job",
    "submit_from_template",
    "submit_job",
    "submit_jobs",
    "sweep_expired_leases",
    "sync_run_slots",
    "untune_planner",
]
