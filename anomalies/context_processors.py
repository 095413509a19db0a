"""Alarm counts for the navigation bar on every page (add to TEMPLATES' context_processors)."""

from . import selectors


def alarm_counts(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"alarm_counts": selectors.alarm_counts(request.user)}
