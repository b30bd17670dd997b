"""The page cache of the public portal.

Anonymous GET responses of Wagtail pages are kept whole in the cache backend for
PAGE_CACHE_SECONDS, keyed by the full path and the language. Logged-in visitors and visitors
with pending messages always get a fresh page (the service page shows per-login gating).

Purging is by generation: every cached entry records the generation it was rendered in, and
publishing, unpublishing, moving or deleting a page (or changing a procedure) bumps the
generation, so every entry rendered before is stale at once. One bump is O(1) whatever the
number of entries, and it is right for pages whose content appears elsewhere (a category's
title is in every page's navigation; a procedure's fee is on its service pages).
Hit and check are one round trip: the generation and the entry are read together.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation

GENERATION_KEY = "portal:pagecache:generation"
# Headers worth keeping with a cached body; the middleware stack adds the rest each time.
_KEPT_HEADERS = ("Content-Type", "Content-Language", "Cache-Control")


def cache_seconds() -> int:
    return int(getattr(settings, "PAGE_CACHE_SECONDS", 0) or 0)


# The generation read at the start of a page request, reused by every fragment of that
# request (one cache read instead of one per fragment).
_request_generation: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "portal_page_generation", default=None)


def current_generation() -> int:
    generation = _request_generation.get()
    if generation is None:
        generation = int(cache.get(GENERATION_KEY) or 0)
    return generation


def purge() -> None:
    """Make every cached page stale (called when editors publish)."""
    _request_generation.set(None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        # The key does not exist yet (or was evicted): start a new generation that differs
        # from the 0 that missing entries are compared with.
        cache.set(GENERATION_KEY, 1, timeout=None)


def page_key(request: HttpRequest) -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"portal:page:{language}:{digest}"


def _has_pending_messages(request: HttpRequest) -> bool:
    # len() reads the storage without marking the messages as shown.
    return bool(getattr(request, "_messages", None)) and len(messages.get_messages(request)) > 0


def is_cacheable_request(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    return not _has_pending_messages(request)


def _is_cacheable_response(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        # a page that asked for a CSRF token carries a per-visitor value
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and "private" not in response.get("Cache-Control", "")
        and "no-cache" not in response.get("Cache-Control", "")
    )


def serve_cached(request: HttpRequest, render: Callable[[], HttpResponse]) -> HttpResponse:
    """Answer from the cache when allowed and fresh; otherwise render and maybe store."""
    seconds = cache_seconds()
    if seconds <= 0 or not is_cacheable_request(request):
        token = _request_generation.set(int(cache.get(GENERATION_KEY) or 0))
        try:
            return render()
        finally:
            _request_generation.reset(token)

    key = page_key(request)
    found = cache.get_many([GENERATION_KEY, key])
    generation = int(found.get(GENERATION_KEY) or 0)
    entry: dict[str, Any] | None = found.get(key)
    if entry is not None and entry.get("generation") == generation:
        response = HttpResponse(entry["content"], status=200)
        for header, value in entry["headers"].items():
            response[header] = value
        response["X-Page-Cache"] = "hit"
        return response

    token = _request_generation.set(generation)
    try:
        response = render()
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
    finally:
        _request_generation.reset(token)
    if _is_cacheable_response(request, response):
        cache.set(key, {
            "generation": generation,
            "content": response.content,
            "headers": {h: response[h] for h in _KEPT_HEADERS if h in response},
        }, timeout=seconds)
        response["X-Page-Cache"] = "miss"
    return response


def fragment_seconds() -> int:
    return int(getattr(settings, "PORTAL_FRAGMENT_CACHE_SECONDS", 3600) or 0)


def _fragment_key(key: str) -> str:
    return f"portal:fragment:{current_generation()}:{key}"


def cached_fragment(key: str, build: Callable[[], Any]) -> Any:
    """A computed value (navigation, language links, routes) kept until the next publish.

    A value of None is not kept: `build` returning None means "nothing to remember"."""
    seconds = fragment_seconds()
    if seconds <= 0:
        return build()
    full_key = _fragment_key(key)
    value = cache.get(full_key)
    if value is None:
        value = build()
        if value is not None:
            cache.set(full_key, value, timeout=seconds)
    return value


def store_fragment(key: str, value: Any) -> None:
    seconds = fragment_seconds()
    if seconds > 0:
        cache.set(_fragment_key(key), value, timeout=seconds)
