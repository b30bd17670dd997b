"""Views of the public portal: search, procedure links, cached Wagtail pages, error pages."""

from __future__ import annotations

import logging

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from wagtail import views as wagtail_views

from catalogue.models import Procedure
from portal import cache as page_cache
from portal import routing
from portal import selectors as portal_search
from portal.models import active_locale_id, service_pages_by_procedure

logger = logging.getLogger(__name__)

RESULTS_PER_PAGE = 10


def serve_page(request: HttpRequest, path: str) -> HttpResponse:
    """Wagtail's page serving behind the anonymous page cache (see portal.cache), with the
    route remembered between publishes (see portal.routing)."""
    return page_cache.serve_cached(request, lambda: _serve(request, path))


def _serve(request: HttpRequest, path: str) -> HttpResponse:
    if not routing.prime(request, path):
        response = wagtail_views.serve(request, path)
        routing.remember(request, path)
        return response
    return wagtail_views.serve(request, path)


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    query = portal_search.clean_query(request.GET.get("q", ""))
    results = portal_search.site_search(query=query) if query else []
    paginator = Paginator(results, RESULTS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    return render(request, "portal/search.html", {
        "query": query,
        "paginator": paginator,
        "page_obj": page_obj,
        "results": page_obj.object_list,
    })


@require_safe
def procedure_page(request: HttpRequest, code: str) -> HttpResponse:
    """A stable link to a procedure's information page in the visitor's language, for the
    other apps and for links written by hand (/<lang>/procedure/<code>/)."""
    procedure = Procedure.objects.active().filter(code=code).first()
    if procedure is None:
        raise Http404("unknown procedure")
    pages = service_pages_by_procedure(locale_id=active_locale_id(), procedure_ids=[procedure.pk])
    if procedure.pk in pages:
        return redirect(pages[procedure.pk].get_url(request))
    try:
        return redirect(reverse("crm:procedure_start", args=[procedure.code]))
    except NoReverseMatch:
        raise Http404("no page for this procedure") from None


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        # Machines get the API's error shape, not the portal's page.
        return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request context: the error may come from the database."""
    try:
        body = loader.get_template("500.html").render()
    except Exception:  # noqa: BLE001 - the last resort must answer whatever broke
        logger.exception("500 template failed")
        body = "<!doctype html><title>Server error</title><h1>Server error</h1>"
    return HttpResponse(body, status=500)
