"""Job kinds: how each validates its params and what it runs. A workload gets a RunContext
(progress, log, cancellation checks, artifacts) and returns the job's result dict."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import JobParamsError
from ..models import JobKind
from . import diagnostic, tile


@dataclass(frozen=True)
class Workload:
    validate: Callable[[dict], dict]  # params -> cleaned params, raising JobParamsError
    run: Callable[[Any, dict], dict]  # (ctx, params) -> result
    needs_gpu: Callable[[dict], bool]
    needs_footprint: bool = False


WORKLOADS = {
    JobKind.TILE: Workload(tile.validate_params, tile.run, needs_gpu=lambda p: True, needs_footprint=True),
    JobKind.SLEEP: Workload(diagnostic.validate_sleep, diagnostic.run_sleep, needs_gpu=lambda p: p["gpu"]),
    JobKind.NOOP: Workload(diagnostic.validate_noop, diagnostic.run_noop, needs_gpu=lambda p: False),
}


def workload_for(kind: str) -> Workload:
    try:
        return WORKLOADS[JobKind(kind)]
    except ValueError:
        raise JobParamsError(f"unknown kind {kind!r}; one of {', '.join(JobKind.values)}", field="kind") from None
