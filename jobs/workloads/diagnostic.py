"""Diagnostic kinds: `noop` (queue benchmark) and `sleep` (progress, cancellation, failures)."""

import time

from .params import flag, number, only_known


class DiagnosticFailure(Exception):
    pass


def validate_noop(params) -> dict:
    only_known(params, set())
    return {}


def run_noop(ctx, params) -> dict:
    return {}


def validate_sleep(params) -> dict:
    params = only_known(params, {"duration_s", "steps", "fail_attempts", "gpu"})
    return {
        "duration_s": number(params, "duration_s", 5, low=0, high=3600),
        "steps": number(params, "steps", 10, low=1, high=1000, integer=True),
        "fail_attempts": number(params, "fail_attempts", 0, low=0, high=20, integer=True),
        "gpu": flag(params, "gpu", False),
    }


def run_sleep(ctx, params) -> dict:
    """Sleeps in steps, reporting progress; fails on purpose during the first `fail_attempts` attempts."""
    steps, pause = params["steps"], params["duration_s"] / params["steps"]
    ctx.log(f"sleeping {params['duration_s']} s in {steps} steps (attempt {ctx.attempt})")
    for step in range(steps):
        ctx.check()
        time.sleep(pause)
        ctx.progress(100.0 * (step + 1) / steps)
    if ctx.attempt <= params["fail_attempts"]:
        raise DiagnosticFailure(f"failing on purpose on attempt {ctx.attempt} of {params['fail_attempts']}")
    return {"slept_s": params["duration_s"], "attempt": ctx.attempt}
