"""One throttle for the whole API, keyed by API key (or user, or client IP) and by the scope the
request needs, so an ingest stream never eats the budget of an operator's clicks."""

import logging

from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from .authentication import ApiKeyScope
from .models import ApiKey

logger = logging.getLogger(__name__)


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "read"  # replaced per request in allow_request

    def allow_request(self, request, view):
        if not request.user or not request.user.is_authenticated:
            self.scope = "anon"
        else:
            self.scope = ApiKeyScope.scope_for(request, view)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except RedisError:
            # Redis away (restart): serve unthrottled rather than fail every request with a 500.
            logger.warning("throttle cache unavailable; request allowed unthrottled")
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            principal = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            principal = f"user:{request.user.pk}"
        else:
            principal = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{principal}"
