"""One Redis client per process for the cache's Redis, for the scripts and counters that go past
the cache API (the API's throttle, the API-key generation). Django makes a cache backend, and with
it a connection pool, per request context: every API request opened a new connection to Redis
(connect and handshake) and built two client objects. redis-py's client is thread-safe, and its
pool reconnects after a Redis restart or a fork."""

import threading

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()
_serializer = RedisSerializer()


def _primary_url() -> str:
    location = settings.CACHES["default"]["LOCATION"]
    servers = location if isinstance(location, list | tuple) else location.split(",")
    return servers[0]  # Django's RedisCache writes to the first server


def cache_redis() -> redis.Redis:
    """The process's client of the default cache's Redis (its primary)."""
    url = _primary_url()  # read each call: tests change CACHES
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    return client


def cached_value(key: str):
    """The cache's value at `key` (Django's key prefix and serializer), or None."""
    value = cache_redis().get(cache.make_and_validate_key(key))
    return None if value is None else _serializer.loads(value)


def add_value(key: str, value) -> None:
    """Set `key` to `value` in the cache (no expiry) unless it is set already."""
    cache_redis().set(cache.make_and_validate_key(key), _serializer.dumps(value), nx=True)
