"""The only code that writes anomalies, by concept: the alarm workflow and policies (alarms), the
inline limit checks run in ingest's transaction (limit_checks), the beat sweeps (sweeps), the
detector runs and cursors they share (detector_runs) and the recorder turning episodes into alarms
(recording). The public names are re-exported here."""

from .alarms import (
    MAX_SHELVE,
    MAX_TAGS,
    BulkAction,
    acknowledge,
    add_comment,
    assign,
    bulk_apply,
    escalate_due,
    policy_for,
    remove_from_service,
    resolve,
    return_to_service,
    set_policy,
    set_tags,
    shelve,
    unshelve,
    unshelve_due,
)
from .limit_checks import check_stored_batch
from .sweeps import sweep

__all__ = [
    "MAX_SHELVE",
    "MAX_TAGS",
    "BulkAction",
    "acknowledge",
    "add_comment",
    "assign",
    "bulk_apply",
    "check_stored_batch",
    "escalate_due",
    "policy_for",
    "remove_from_service",
    "resolve",
    "return_to_service",
    "set_policy",
    "set_tags",
    "shelve",
    "sweep",
    "unshelve",
    "unshelve_due",
]
