"""Rate limits per terminal (not per IP: several terminals of a branch share one address),
counted in the shared cache so every web pod sees the same budget.

A window counter (the window opens at a terminal's first call), not DRF's sliding history:
DRF reads and rewrites the pickled list of every request time of the window (two cache round
trips and a list of up to 300 floats on every call of a busy terminal). Here a call costs one
round trip to Redis (INCR, EXPIRE and TTL in one pipeline). A terminal may burst to twice its
rate across two windows, which is fine for a guard against a runaway terminal.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle


def _parse_rate(rate: str) -> tuple[int, int]:
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


# One redis client per Redis server, kept: the counter needs INCR, EXPIRE and TTL in one
# pipeline, which Django's cache API does not offer, and redis-py builds a client's command
# table on every construction (a fifth of a millisecond). It talks to the server Django's
# cache writes to (the first of LOCATION), under the cache's own key for the counter.
_CLIENTS: dict[str, redis.Redis] = {}


def _redis_client() -> redis.Redis:
    location = settings.CACHES["default"]["LOCATION"]
    servers = location if isinstance(location, list | tuple) else location.split(",")
    url = servers[0].strip()
    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(url)
    return client


def window_count(key: str, duration: int) -> tuple[int, float]:
    """Count one more call in the window `key`, which opens at its first call and lasts
    `duration` seconds. Returns the count including this call and the seconds left."""
    backend = caches["default"]  # `cache` is a proxy to it
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipe = _redis_client().pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, duration, nx=True)
        pipe.ttl(full_key)
        count, _set, ttl = pipe.execute()
        return int(count), float(ttl if ttl and ttl > 0 else duration)
    # Other backends (tests on SQLite without Redis, local development): add, else incr.
    if cache.add(key, 1, duration):
        return 1, float(duration)
    try:
        return cache.incr(key), float(duration)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, duration)
        return 1, float(duration)


class TerminalRateThrottle(BaseThrottle):
    scope = "kiosk_terminal"
    setting = "KIOSK_THROTTLE_RATE"

    def get_ident(self, request: Any) -> str | None:
        terminal = getattr(request, "auth", None)
        return getattr(terminal, "code", None)

    def allow_request(self, request: Any, view: Any) -> bool:
        ident = self.get_ident(request)
        if ident is None:
            return True
        # The rate is read per request so a changed setting (and tests) take effect at once.
        self.num_requests, self.duration = _parse_rate(getattr(settings, self.setting))
        count, self.retry_after = window_count(f"throttle:{self.scope}:{ident}",
                                               self.duration)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(1.0, self.retry_after)


class SessionOpenRateThrottle(TerminalRateThrottle):
    """A tighter budget for nonces and session openings: each costs a signature check."""

    scope = "kiosk_session_open"
    setting = "KIOSK_SESSION_OPEN_THROTTLE_RATE"
