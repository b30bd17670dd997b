"""Reads of the portal: the site search over Wagtail pages and catalogue procedures."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from django.db import DatabaseError
from django.utils.translation import gettext as _
from wagtail.models import Page
from wagtail.search.backends import get_search_backend

from catalogue.models import Procedure
from portal.models import (
    CategoryPage,
    ServicePage,
    active_locale_id,
    service_pages_by_procedure,
)

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 200
# Results kept per source before pagination: a citizen never pages past a few screens, and a
# bound keeps a vague query from materialising the whole index.
MAX_RESULTS_PER_SOURCE = 100
# What the search engine sees: words, digits, apostrophes and hyphens. Quotes, brackets and
# operator characters mean something to some backends (FTS5, Lucene syntax) and nothing
# to citizens, so they become spaces.
_NOT_A_WORD = re.compile(r"[^\w\s'’-]+", re.UNICODE)


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    summary: str
    kind: str


def clean_query(raw: str) -> str:
    """The query as typed, made safe to show and to search: no control characters (NUL
    included), single spaces, at most MAX_QUERY_LENGTH characters."""
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw or "")
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def _terms(query: str) -> str:
    terms = [t.strip("'’-") for t in _NOT_A_WORD.sub(" ", query).split()]
    return " ".join(t for t in terms if t)


def site_search(*, query: str) -> list[SearchResult]:
    """Procedures then pages matching `query`, in the active language.

    A procedure appears once, as its service page in this language when there is one; pages
    are those of this language's tree only.
    """
    terms = _terms(query)
    if not terms:
        return []
    locale_id = active_locale_id()
    backend = get_search_backend()
    try:
        procedures = list(backend.search(terms, Procedure.objects.active(), operator="and")
                          [:MAX_RESULTS_PER_SOURCE])
        pages = list(backend.search(
            terms, Page.objects.live().public().filter(locale_id=locale_id, depth__gt=1),
            operator="and")[:MAX_RESULTS_PER_SOURCE])
    except DatabaseError:
        # A query the engine still refuses is a citizen's typo, not an outage: no results.
        logger.warning("search refused the query", exc_info=True)
        return []

    service_pages = service_pages_by_procedure(
        locale_id=locale_id, procedure_ids=[p.pk for p in procedures])
    results: list[SearchResult] = []
    shown_procedures: set[int] = set()
    for procedure in procedures:
        page = service_pages.get(procedure.pk)
        url = page.get_url() if page else None
        if not url:
            continue
        shown_procedures.add(procedure.pk)
        results.append(SearchResult(title=page.title, url=url, summary=procedure.summary,
                                    kind=_("Service")))

    specific_pages = Page.objects.filter(pk__in=[p.pk for p in pages]).specific()
    by_pk = {p.pk: p for p in specific_pages}
    for hit in pages:
        page = by_pk.get(hit.pk)
        if page is None:
            continue
        if isinstance(page, ServicePage):
            if page.procedure_id in shown_procedures:
                continue
            shown_procedures.add(page.procedure_id)
            kind = _("Service")
        elif isinstance(page, CategoryPage):
            kind = _("Theme")
        else:
            kind = _("Information")
        url = page.get_url()
        if url:
            results.append(SearchResult(title=page.title, url=url,
                                        summary=getattr(page, "intro", "") or "",
                                        kind=kind))
    return results
