"""API keys: issue (shown once), rotate with a grace period, revoke; lookup by hash."""

import copy
import hashlib
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .. import live
from ..apikey_cache import current_generation
from ..exceptions import ConflictError, DomainError
from ..models import ApiKey, ApiScope, Membership, Organization, Role
from ..tenancy import user_or_none
from .events import record_event
from .organizations import set_membership

logger = logging.getLogger(__name__)

KEY_PREFIX = "mo_"
DEFAULT_ROTATION_GRACE = timedelta(hours=24)


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256 (the plaintext is never stored)."""
    # Keys carry 256 bits of randomness: a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


def role_for_scopes(scopes: list[str]) -> Role:
    """The role a key's service user gets for its scopes (the widest one it needs)."""
    if ApiScope.ADMIN in scopes:
        return Role.ADMIN
    if ApiScope.OPERATE in scopes or ApiScope.INGEST in scopes:
        return Role.OPERATOR
    return Role.VIEWER


def validate_scopes(scopes) -> list[str]:
    """The scopes, checked and in canonical order; DomainError naming `scopes` otherwise."""
    if not isinstance(scopes, list) or not scopes or any(s not in ApiScope.values for s in scopes):
        raise DomainError(f"scopes: a non-empty list of {', '.join(ApiScope.values)}", field="scopes")
    return sorted(set(scopes), key=ApiScope.values.index)


@transaction.atomic
def create_api_key(
    *, organization: Organization, name: str, scopes: list[str], actor=None, expires_at=None
) -> tuple[ApiKey, str]:
    """Returns the key row and the plaintext key (the only time it exists)."""
    scopes = validate_scopes(scopes)
    if not name or not name.strip():
        raise DomainError("a key needs a name", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("expires_at must be in the future", field="expires_at")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    service_user = get_user_model().objects.create_user(username=f"apikey:{prefix}")
    service_user.set_unusable_password()
    service_user.save(update_fields=["password"])
    set_membership(organization=organization, user=service_user, role=role_for_scopes(scopes), actor=actor)
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip()[:120],
        prefix=prefix,
        key_hash=hash_key(plaintext),
        scopes=scopes,
        service_user=service_user,
        expires_at=expires_at,
        created_by=user_or_none(actor),
    )
    record_event(
        organization=organization,
        kind="security.key.created",
        subject=key,
        actor=actor,
        payload={
            "name": key.name,
            "prefix": prefix,
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, plaintext


@transaction.atomic
def rotate_api_key(*, key: ApiKey, actor=None, grace: timedelta = DEFAULT_ROTATION_GRACE) -> tuple[ApiKey, str]:
    """A new key with the same scopes and expiry; the old one keeps working for `grace` (or until it
    expires, if sooner), then expires."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at or key.replaced_by_id:
        raise ConflictError(f"key {key.prefix} is already {'revoked' if key.revoked_at else 'rotated'}", field="key")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise ConflictError(f"key {key.prefix} has expired; issue a new one", field="key")
    new_key, plaintext = create_api_key(
        organization=key.organization, name=key.name, scopes=key.scopes, actor=actor, expires_at=key.expires_at
    )
    grace_end = timezone.now() + grace
    key.replaced_by = new_key
    key.expires_at = min(key.expires_at, grace_end) if key.expires_at else grace_end
    key.save(update_fields=["replaced_by", "expires_at"])  # every process forgets the key (ApiKey.save)
    record_event(
        organization=key.organization,
        kind="security.key.rotated",
        subject=key,
        actor=actor,
        payload={"old": key.prefix, "new": new_key.prefix, "old_valid_until": key.expires_at.isoformat()},
    )
    return new_key, plaintext


@transaction.atomic
def revoke_api_key(*, key: ApiKey, actor=None, reason: str = "") -> ApiKey:
    """Revoke now: the key's service user is deactivated and its open sockets close."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at:
        raise ConflictError(f"key {key.prefix} is already revoked", field="key")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])  # every process forgets the key (ApiKey.save)
    key.service_user.is_active = False
    key.service_user.save(update_fields=["is_active"])
    Membership.objects.filter(user=key.service_user).delete()
    live.access_changed(key.service_user_id)  # its open sockets close
    payload = {"prefix": key.prefix, **({"reason": reason} if reason else {})}
    record_event(organization=key.organization, kind="security.key.revoked", subject=key, actor=actor, payload=payload)
    return key


ROLE_ORDER = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]


def revoke_keys_beyond(*, organization: Organization, creator, role: Role | None, actor=None) -> list[ApiKey]:
    """A key never outlives its creator's standing: when the creator is demoted below a key's role
    in `organization` (or removed, `role` None), the key is revoked. Otherwise someone who left or
    was demoted would keep what they had through a key they still hold."""
    rank = -1 if role is None else ROLE_ORDER.index(role)
    live_keys = ApiKey.objects.filter(organization=organization, created_by=creator, revoked_at__isnull=True)
    beyond = [key for key in live_keys if ROLE_ORDER.index(role_for_scopes(key.scopes)) > rank]
    why = f"its creator {creator.get_username()} " + ("left the organization" if role is None else f"is now {role}")
    return [revoke_api_key(key=key, actor=actor, reason=why) for key in beyond]


def revoke_keys_of_changed_member(*, organization, user, role, actor=None, **kwargs) -> None:
    """Receiver of services.membership_changed (connected in MissionOpsConfig.ready)."""
    revoke_keys_beyond(organization=organization, creator=user, role=role, actor=actor)


def authenticate_key(plaintext: str) -> ApiKey | None:
    """The usable key for `plaintext`, with last_used_at refreshed (at most once a minute).

    Each process keeps the keys it has looked up (with their service user and organization) while
    the key generation in the shared cache is the one it read before the lookup, and at most
    API_KEY_CACHE_S: any change to a key row through the ORM (revoke, rotate, the admin, an
    update()) changes the generation, now and again once it commits, so every process sees it on
    its next request. Expiry is checked on every use. Without the shared cache (Redis down) every
    request reads the database."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX):
        return None
    digest = hash_key(plaintext)
    generation = current_generation()  # read before the row: a change committed after it bumps it again
    cached = _keys.get(digest)
    if cached is not None and generation is not None and cached[1] == generation and cached[2] > time.monotonic():
        key = cached[0]
    else:
        key = ApiKey.objects.select_related("service_user", "organization").filter(key_hash=digest).first()
        if key is None:
            _keys.pop(digest, None)
        elif generation is not None:
            if len(_keys) >= MAX_CACHED_KEYS:
                _keys.clear()
            _keys[digest] = (key, generation, time.monotonic() + settings.API_KEY_CACHE_S)
    now = timezone.now()
    if key is None or not key.is_usable(now):
        return None
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return _lent(key)


# key hash -> (key, generation, valid until (monotonic)); the cached key is never handed out itself
# (see _lent), so nothing a request caches on it (permissions) outlives the request.
_keys: dict[str, tuple[ApiKey, str, float]] = {}
MAX_CACHED_KEYS = 10_000


def _lent(key: ApiKey) -> ApiKey:
    """A copy of the cached key, its service user and organization for one request."""
    lent = copy.copy(key)
    lent.service_user = copy.copy(key.service_user)
    lent.organization = copy.copy(key.organization)
    return lent
