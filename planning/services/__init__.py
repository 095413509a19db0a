"""The planning app's public services: the only place it writes."""

from .execution import advance_plans, mark_downlink_lost, submit_tile_job
from .plans import (
    DEFAULT_HORIZON,
    DEFAULT_TIME_LIMIT_S,
    compute_plan,
    element_sets,
    replan_if_triggered,
    triggers_since_last_plan,
)
from .requests import cancel_request, clean_target, create_request, footprint_of, set_state

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_TIME_LIMIT_S",
    "advance_plans",
    "cancel_request",
    "clean_target",
    "compute_plan",
    "create_request",
    "element_sets",
    "footprint_of",
    "mark_downlink_lost",
    "replan_if_triggered",
    "set_state",
    "submit_tile_job",
    "triggers_since_last_plan",
]
