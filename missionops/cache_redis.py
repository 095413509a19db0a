"""One Redis client per process on the Django cache's connection pool, for the scripts and counters
that go past the cache API. Django's RedisCache builds a new client object for every operation
(~0.3 ms of Python setting up its reply callbacks); the API's throttle and key check ran two per
request. redis-py's client is thread-safe, and its pool reconnects after a restart or a fork."""

import threading
import weakref

from django.core.cache import cache

# Keyed by the cache backend's client: Django makes one per thread, and a new one when CACHES
# changes (tests), so this follows both.
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def cache_redis():
    """A client of the default cache's Redis (the primary, for writes), kept for reuse."""
    backend = cache._cache
    client = _clients.get(backend)
    if client is None:
        with _lock:
            client = _clients[backend] = backend.get_client(write=True)
    return client


def cached_value(key: str):
    """The cache's value at `key` (Django's key prefix and serializer), or None."""
    value = cache_redis().get(cache.make_and_validate_key(key))
    return None if value is None else cache._cache._serializer.loads(value)


def add_value(key: str, value) -> None:
    """Set `key` to `value` in the cache (no expiry) unless it is set already."""
    cache_redis().set(cache.make_and_validate_key(key), cache._cache._serializer.dumps(value), nx=True)
