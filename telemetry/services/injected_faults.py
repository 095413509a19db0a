"""Simulator faults stored as ground truth for scoring anomaly detection."""

from spacecraft.models import Spacecraft

from ..models import InjectedFault


def record_injected_fault(*, spacecraft: Spacecraft, fault) -> InjectedFault:
    """Store a simulator fault with its times: the ground truth later detection is scored against."""
    return InjectedFault.objects.create(
        spacecraft=spacecraft,
        parameter=fault.parameter,
        kind=fault.kind,
        started_at=fault.started_at,
        ended_at=fault.ended_at,
        magnitude=fault.magnitude,
    )
