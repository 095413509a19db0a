"""The shared generation of cached API keys: any change to a key row changes it, so every process
forgets the keys it cached (missionops.services.apikeys.authenticate_key). Below models: ApiKey's manager
calls it on every write."""

import logging
import uuid

from django.core.cache import cache
from django.db import transaction

from .cache_redis import add_value, cached_value

logger = logging.getLogger(__name__)

GENERATION = "apikeys:generation"


def current_generation() -> str | None:
    """The shared generation now; None when the shared cache is unreachable (cache nothing then)."""
    try:
        generation = cached_value(GENERATION)
        if generation is None:
            add_value(GENERATION, uuid.uuid4().hex)
            generation = cached_value(GENERATION)
        return str(generation)
    except Exception:  # the shared cache is down: no key is taken from this process's cache
        logger.warning("API key cache: the shared generation is unreadable", exc_info=True)
        return None


def keys_changed() -> None:
    """Every process forgets its cached keys: now, and again when the current transaction commits
    (a request that read the old row meanwhile cached it under the first new generation)."""
    _bump_generation()
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    try:
        cache.set(GENERATION, uuid.uuid4().hex, timeout=None)
    except Exception:  # cached keys then live out API_KEY_CACHE_S
        logger.warning("API key cache: the shared generation could not be changed", exc_info=True)
