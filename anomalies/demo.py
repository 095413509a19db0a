"""seed_demo hook: run the detectors once over the demo history, so the alarm console has content
(idempotent: cursors and the episode constraints make a second run add nothing)."""

from .services import sweeps


def seed(*, organization, actor, log, options, stderr):
    result = sweeps.sweep(spacecraft=organization.spacecraft.all())
    if result.opened:
        log(f"open {result.opened} anomaly episodes found by the first detector sweep")
