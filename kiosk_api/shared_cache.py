"""Reads of the shared cache (Redis) on the terminal API's hot path, in one round trip.

Every terminal call reads the same few entries: its verified credential, its citizen session
and, for the catalogue and submits, the catalogue version. The API view names them from the
request headers and `prefetch` reads them all with one MGET; the services then `get` them
from that memo instead of making a round trip each. Writes go to the cache and the memo alike,
so a service that refreshes or forgets an entry reads its own write. Outside a prefetch
(admin screens, shells, Celery) `get` is a plain cache read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache

_MEMO: ContextVar[dict[str, Any] | None] = ContextVar("kiosk_shared_cache_memo", default=None)


@contextmanager
def prefetch(keys: Iterable[str]) -> Iterator[None]:
    keys = list(dict.fromkeys(keys))
    found = cache.get_many(keys) if keys else {}
    token = _MEMO.set({key: found.get(key) for key in keys})
    try:
        yield
    finally:
        _MEMO.reset(token)


def get(key: str) -> Any:
    memo = _MEMO.get()
    if memo is not None and key in memo:
        return memo[key]
    return cache.get(key)


def set(key: str, value: Any, timeout: int) -> None:  # noqa: A001 - the cache's own verb
    cache.set(key, value, timeout)
    memo = _MEMO.get()
    if memo is not None and key in memo:
        memo[key] = value


def add(key: str, value: Any, timeout: int) -> bool:
    added = cache.add(key, value, timeout)
    memo = _MEMO.get()
    if memo is not None and key in memo:
        memo[key] = value if added else cache.get(key)
    return added


def delete_many(keys: list[str]) -> None:
    cache.delete_many(keys)
    memo = _MEMO.get()
    if memo is not None:
        for key in keys:
            if key in memo:
                memo[key] = None
