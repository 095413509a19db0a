"""Rate limits that hold under concurrency: one Redis counter per principal, scope and window,
incremented and given its expiry in one atomic step, so N parallel requests never pass more than
the limit (a read-then-write of a request history, as DRF's own throttle does, lets them race).

- API: one throttle for the whole API, keyed by API key (or user, or client IP) and by the scope
  the request needs, so an ingest stream never eats the budget of an operator's clicks.
- Sign-in: every attempt for a (username, address) claims a slot before its password is checked;
  past LOGIN_FAILURE_LIMIT the attempt is refused (429) until the window ends; a success clears it.
"""

import contextlib
import hashlib
import logging
import math

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from redis.exceptions import NoScriptError, RedisError
from rest_framework.throttling import SimpleRateThrottle

from .api_authentication import ApiKeyScope
from .cache_redis import cache_redis
from .models import ApiKey

logger = logging.getLogger(__name__)

# INCR, and on the first hit give the key its window as expiry, in one step; answer (count, ttl).
_CLAIM = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


_CLAIM_SHA = hashlib.sha1(_CLAIM.encode()).hexdigest()


def claim(key: str, *, window_s: int) -> tuple[int, int]:
    """Count one hit on `key` in its current window: (hits so far, seconds until the window ends)."""
    client, args = cache_redis(), (1, cache.make_and_validate_key(key), max(1, int(window_s)))
    try:
        count, ttl = client.evalsha(_CLAIM_SHA, *args)
    except NoScriptError:  # first use since Redis started: EVAL runs it and keeps it for EVALSHA
        count, ttl = client.eval(_CLAIM, *args)
    return int(count), int(ttl)


def forget(key: str) -> None:
    cache_redis().delete(cache.make_and_validate_key(key))


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "read"  # replaced per request in allow_request

    def allow_request(self, request, view):
        if not request.user or not request.user.is_authenticated:
            self.scope = "anon"
        else:
            self.scope = ApiKeyScope.scope_for(request, view)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        try:
            count, self.wait_s = claim(self.get_cache_key(request, view), window_s=self.duration)
        except RedisError:
            # Redis away (restart): serve unthrottled rather than fail every request with a 500.
            logger.warning("throttle cache unavailable; request allowed unthrottled")
            return True
        return count <= self.num_requests

    def wait(self):
        return max(1, math.ceil(getattr(self, "wait_s", self.duration)))

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            principal = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            principal = f"user:{request.user.pk}"
        else:
            principal = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{principal}"


def login_key(request, username: str) -> str:
    return f"login:{username.strip().lower()[:150]}:{request.META.get('REMOTE_ADDR', '')}"


class LoginAttemptLimitBackend:
    """First authentication backend: claims an attempt slot, and refuses (PermissionDenied, which
    stops every later backend) once LOGIN_FAILURE_LIMIT attempts were made in the window. It has
    no get_user on purpose: sessions are never bound to it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None:
            return None
        try:
            count, wait_s = claim(login_key(request, username), window_s=settings.LOGIN_LOCKOUT_S)
        except RedisError:
            logger.warning("login limit cache unavailable; attempt allowed")
            return None
        if count > settings.LOGIN_FAILURE_LIMIT:
            request.login_locked_out_s = wait_s
            raise PermissionDenied("too many failed sign-ins")
        return None


def clear_login_attempts(sender, request, user, **kwargs):
    """user_logged_in: a successful sign-in starts a fresh count."""
    if request is not None:
        with contextlib.suppress(RedisError):
            forget(login_key(request, user.get_username()))


class LoginLockoutMiddleware:
    """Answers 429 (with Retry-After) for a sign-in refused by LoginAttemptLimitBackend."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        wait_s = getattr(request, "login_locked_out_s", None)
        if wait_s is None:
            return response
        locked = render(request, "registration/locked_out.html", {"minutes": math.ceil(wait_s / 60)}, status=429)
        locked["Retry-After"] = str(max(1, wait_s))
        return locked
