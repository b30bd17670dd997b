"""Remembered routes of the portal's pages.

Wagtail finds a page by walking the tree from the site root, one query per level plus the
site and locale look-ups, on every request. The answer only changes when a page, a
procedure, a site or a view restriction is saved or deleted, which bumps the page-cache
generation (portal.signals); so the site and the page found for (host, language, path) are
remembered in the cache for that generation, page object included. Wagtail's own serve view
then runs unchanged, with every hook (view restrictions included): we only hand it the route
it would have found (it keeps the route of a request in `request._wagtail_route_for_request`).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import translation
from wagtail.models import Page, PageViewRestriction, Site

from portal import cache as page_cache


def _key(request: HttpRequest, path: str) -> str:
    return f"route:{request.get_host()}:{translation.get_language()}:{path}"


def prime(request: HttpRequest, path: str) -> bool:
    """Give Wagtail the remembered route of this request, if there is one."""
    remembered = page_cache.cached_fragment(_key(request, path), lambda: None)
    if not remembered:
        return False
    site, page = remembered
    request._wagtail_site = site
    request._wagtail_route_for_request = (page, [], {})
    return True


def remember(request: HttpRequest, path: str) -> None:
    """After Wagtail routed a request, keep its answer for the next ones."""
    from portal.models import PortalPage

    route = getattr(request, "_wagtail_route_for_request", None)
    site = getattr(request, "_wagtail_site", None)
    if not route or not isinstance(site, Site):
        return
    page, args, kwargs = route
    if args or kwargs or not isinstance(page, PortalPage):
        return
    if not page.live:
        return
    page_cache.store_fragment(_key(request, path), (site, page))


def any_view_restriction() -> bool:
    """Whether any page has a view restriction; while none has, pages skip the look-up."""
    return page_cache.cached_fragment(
        "view-restrictions", lambda: PageViewRestriction.objects.exists())


__all__ = ["Page", "any_view_restriction", "prime", "remember"]
