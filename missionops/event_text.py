"""One sentence per event for people (the events page, live rows): who did what to what, with the
payload's few telling values. Only the event's own fields are read: the platform knows no domain
model, and a sentence stays true after its subject is deleted."""

from .models import Event

_VERBS = {
    "created": "created",
    "updated": "changed",
    "deleted": "deleted",
    "changed": "changed",
    "imported": "imported",
    "published": "published",
    "edited": "edited",
    "submitted": "submitted",
    "canceled": "canceled",
    "cancelled": "cancelled",
    "retried": "retried",
    "failed": "failed",
    "succeeded": "succeeded",
    "disabled": "disabled",
}


def _words(text: str) -> str:
    return text.replace("_", " ").replace(".", " ")


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _mode_changed(e: Event, p: dict) -> str:
    return (
        f"{e.subject_repr} went from {p.get('from', '?')} to {p.get('to', '?')} mode ({p.get('reason', 'no reason')})"
    )


def _anomaly(e: Event, p: dict) -> str:
    what = {
        "anomaly.detected": "opened",
        "anomaly.cleared": "cleared (back within limits)",
        "anomaly.acknowledged": f"acknowledged by {e.actor_repr}",
        "anomaly.resolved": f"resolved by {e.actor_repr}",
        "anomaly.shelved": f"shelved by {e.actor_repr}",
        "anomaly.unshelved": "unshelved",
        "anomaly.severity_raised": "raised to critical",
        "anomaly.escalated": f"escalated to level {p.get('escalation_level', '?')}",
        "anomaly.commented": f"commented on by {e.actor_repr}",
        "anomaly.assigned": f"assigned to {p.get('assignee') or 'nobody'}",
    }.get(e.kind, _words(e.kind.split(".", 1)[1]))
    detail = f": {p['message']}" if p.get("message") and e.kind == "anomaly.detected" else ""
    severity = (p.get("severity") or "").capitalize()
    return f"{severity} alarm on {p.get('designation', '?')} {p.get('parameter', '')} {what}{detail}".strip()


def _command(e: Event, p: dict) -> str:
    state = e.kind.split(".", 1)[1]
    name = p.get("command", "command")
    if state == "queued":
        when = "at the next contact" if p.get("release_mode") == "next_contact" else "for release now"
        return f"{e.actor_repr} queued {name} {when}"
    reason = f": {p['reason']}" if p.get("reason") else ""
    return f"Command {name} {_words(state)}{reason}"


def _pass(e: Event, p: dict) -> str:
    edge = "AOS" if e.kind == "pass.started" else "LOS"
    elevation = f", max elevation {_number(p['max_elevation_deg'])}°" if "max_elevation_deg" in p else ""
    return f"{edge}: {p.get('designation', e.subject_repr)} over {p.get('station_name', '?')}{elevation}"


def _tle(e: Event, p: dict) -> str:
    counts = f"{p.get('imported', 0)} element sets ({p.get('refused', 0)} refused)"
    return f"{e.actor_repr} imported {counts} from {p.get('source', '?')}"


def _jobs(e: Event, p: dict) -> str:
    if e.kind == "job.submitted" and "count" in p:
        kinds = ", ".join(sorted(set(p.get("kinds", []))))
        return f"{e.actor_repr} submitted {p['count']} job{'s' if p['count'] != 1 else ''} ({kinds})"
    return _generic(e, p)


def _security(e: Event, p: dict) -> str:
    what = e.kind.removeprefix("security.")
    if what == "login.succeeded":
        return f"{e.subject_repr} logged in from {p.get('ip', '?')}"
    if what == "login.failed":
        return f"Failed login for {p.get('username', e.subject_repr)} from {p.get('ip', '?')}"
    if what == "permission.granted":
        return f"{p.get('holder', '?')} granted {p.get('permission', '?')} on {e.subject_repr}"
    if what == "membership.created":
        return f"{p.get('user', '?')} joined as {p.get('role', '?')}"
    return f"Security: {_words(what)} {e.subject_repr}".strip()


def _config(e: Event, p: dict) -> str:
    version = f" to version {p['version']}" if "version" in p else ""
    return f"{e.actor_repr} changed the configuration of {e.subject_repr}{version}"


def _generic(e: Event, p: dict) -> str:
    noun, _, verb = e.kind.rpartition(".")
    if noun and verb in _VERBS:
        return f"{e.actor_repr} {_VERBS[verb]} {_words(noun)} {e.subject_repr}".strip()
    return f"{_words(e.kind).capitalize()} {e.subject_repr}".strip()


_BY_PREFIX = [
    ("mode.changed", _mode_changed),
    ("anomaly.", _anomaly),
    ("command.", _command),
    ("pass.", _pass),
    ("tle.imported", _tle),
    ("job.", _jobs),
    ("security.", _security),
    ("config.changed", _config),
]


def describe(event: Event) -> str:
    """The event as one sentence, e.g. 'SC-001 went from nominal to safe mode (battery 18% below safe threshold)'."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    for prefix, sentence in _BY_PREFIX:
        if event.kind.startswith(prefix):
            try:
                return sentence(event, payload)
            except (TypeError, ValueError, KeyError):
                break  # an unexpected payload shape: the generic sentence still says what happened
    return _generic(event, payload)
