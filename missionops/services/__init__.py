"""The only code that writes the platform's records, by concept: organizations and memberships,
the event log, its outbox to the event stream, webhooks and their deliveries, API keys. Other apps
import from here: `from missionops.services import record_event`."""

from .apikeys import KEY_PREFIX, authenticate_key, create_api_key, revoke_api_key, rotate_api_key
from .event_stream import flush_telemetry_mirror, mirror_telemetry
from .events import SECURITY_PREFIX, event_recorded, json_safe, record_event, record_security_event_for_user
from .organizations import create_organization, membership_changed, remove_membership, set_membership

__all__ = [
    "KEY_PREFIX",
    "SECURITY_PREFIX",
    "authenticate_key",
    "create_api_key",
    "create_organization",
    "event_recorded",
    "flush_telemetry_mirror",
    "json_safe",
    "membership_changed",
    "mirror_telemetry",
    "record_event",
    "record_security_event_for_user",
    "remove_membership",
    "revoke_api_key",
    "rotate_api_key",
    "set_membership",
]
