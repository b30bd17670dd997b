"""Reads of the terminal channel: the catalogue as a terminal shows it, terminal lists and
statistics for the back office."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from babel.numbers import format_currency
from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from catalogue.constants import Channel
from catalogue.models import Procedure
from core.i18n import active_language, localized_value
from kiosk_api import shared_cache
from kiosk_api.models import Terminal

BABEL_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_BE", "de": "de_BE"}


def procedures_on_kiosk() -> QuerySet[Procedure]:
    return Procedure.objects.offered_on(Channel.KIOSK).order_by("category", "sort_order", "code")


# The catalogue as terminals list it changes a few times a year and is asked for on every
# idle screen: the rendered answer is kept per process and language, under a version held in
# the shared cache. Saving or deleting a procedure (catalogue admin, load_catalogue) draws a
# new version (kiosk_api.apps connects the signals, as portal.signals does for its page
# cache); the version also expires, so a bulk update() that sends no signal shows within
# CATALOGUE_VERSION_SECONDS.
CATALOGUE_VERSION_KEY = "kiosk:catalogue:version"
CATALOGUE_VERSION_SECONDS = 300
_RENDERED_LISTS: dict[tuple[str, str], bytes] = {}
_RENDERED_LISTS_MAX = 32


def catalogue_version() -> str:
    version = shared_cache.get(CATALOGUE_VERSION_KEY)
    if version is None:
        version = secrets.token_hex(8)
        if not shared_cache.add(CATALOGUE_VERSION_KEY, version, CATALOGUE_VERSION_SECONDS):
            version = shared_cache.get(CATALOGUE_VERSION_KEY) or version
    return version


def catalogue_changed(**kwargs: Any) -> None:
    """A procedure was saved or deleted: every process renders the list again."""
    shared_cache.set(CATALOGUE_VERSION_KEY, secrets.token_hex(8), CATALOGUE_VERSION_SECONDS)


def procedures_list_view() -> list[dict[str, Any]]:
    """Every procedure offered on terminals, in the active language, with its fee."""
    return [procedure_view(p) for p in
            procedures_on_kiosk().defer("form_schema", "attachments", "keywords")]


def procedures_list_rendered(render: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
    """procedures_list_view() rendered by `render`, from the cache when it is current."""
    key = (active_language(), catalogue_version())
    body = _RENDERED_LISTS.get(key)
    if body is None:
        body = render(procedures_list_view())
        if len(_RENDERED_LISTS) >= _RENDERED_LISTS_MAX:
            _RENDERED_LISTS.clear()
        _RENDERED_LISTS[key] = body
    return body


def procedure_on_kiosk(code: str) -> Procedure | None:
    return procedures_on_kiosk().filter(code=code).first()


_PROCEDURES: dict[tuple[str, str], Procedure] = {}
_PROCEDURES_MAX = 256


def procedure_for_request(code: str) -> Procedure | None:
    """The procedure a terminal submits a request for, kept per process under the catalogue
    version like the list (a submit then needs no query for it). Each caller gets its own
    copy, so nothing one request caches on the instance reaches another."""
    key = (catalogue_version(), code)
    procedure = _PROCEDURES.get(key)
    if procedure is None:
        procedure = procedure_on_kiosk(code)
        if procedure is None:
            return None  # unknown codes are not kept: anyone may send any code
        if len(_PROCEDURES) >= _PROCEDURES_MAX:
            _PROCEDURES.clear()
        _PROCEDURES[key] = procedure
    return copy.copy(procedure)


def format_fee(cents: int, language: str | None = None) -> str:
    locale = BABEL_LOCALES.get(language or active_language(), "fr_BE")
    return format_currency(cents / 100, "EUR", locale=locale)


def procedure_view(procedure: Procedure, *, detail: bool = False) -> dict[str, Any]:
    """A procedure in the active language, with its fee on the terminal."""
    fee = procedure.fee_for(Channel.KIOSK)
    out: dict[str, Any] = {
        "code": procedure.code,
        "name": procedure.name,
        "summary": procedure.summary,
        "category": procedure.category,
        "category_label": str(procedure.get_category_display()),
        "workflow_kind": procedure.workflow_kind,
        "delivery": procedure.delivery,
        "fee_cents": fee,
        "fee_display": format_fee(fee),
        "required_assurance_level": procedure.required_assurance_level,
        "sla_days": procedure.sla_days,
    }
    if detail:
        out["form_schema"] = procedure.form_schema or {}
        out["attachments"] = [
            {"code": item.get("code", ""), "label": localized_value(item.get("label")),
             "required": bool(item.get("required")),
             "content_types": list(item.get("content_types") or []),
             "max_bytes": item.get("max_bytes")}
            for item in procedure.attachments or []]
    return out


def cases_of_session(session: Any) -> QuerySet:
    """The session citizen's own cases, newest first."""
    from crm import selectors as crm_selectors

    return crm_selectors.cases_of_citizen(session.user).select_related("procedure")


def documents_of_session(session: Any) -> QuerySet:
    """The sealed documents issued on the session citizen's own requests."""
    from signing import selectors as signing_selectors

    return signing_selectors.documents_of_citizen(session.user)


def silent_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.KIOSK_SILENT_AFTER_SECONDS)


def terminals_overview() -> QuerySet[Terminal]:
    """Every terminal with whether it went silent (active, no heartbeat for too long)."""
    return Terminal.objects.all().order_by("branch", "code")


def silent_terminals(*, since: datetime | None = None) -> QuerySet[Terminal]:
    since = since or silent_since()
    return terminals_overview().filter(state="active").filter(
        Q(last_heartbeat_at__isnull=True) | Q(last_heartbeat_at__lt=since))


def is_silent(terminal: Terminal, *, since: datetime | None = None) -> bool:
    since = since or silent_since()
    return terminal.is_active and (terminal.last_heartbeat_at is None
                                   or terminal.last_heartbeat_at < since)


def terminal_statistics(*, start: datetime | None = None,
                        end: datetime | None = None) -> list[dict[str, Any]]:
    """Per terminal: requests started, documents delivered (printed), citizen sessions.

    The e-counter plan follows "the number of documents delivered at each terminal"."""
    requests_q = Q()
    prints_q = Q()
    sessions_q = Q()
    if start:
        requests_q &= Q(requests__created_at__gte=start)
        prints_q &= Q(prints__printed_at__gte=start)
        sessions_q &= Q(sessions__started_at__gte=start)
    if end:
        requests_q &= Q(requests__created_at__lt=end)
        prints_q &= Q(prints__printed_at__lt=end)
        sessions_q &= Q(sessions__started_at__lt=end)
    requests = dict(Terminal.objects.annotate(n=Count("requests", filter=requests_q))
                    .values_list("pk", "n"))
    prints = dict(Terminal.objects.annotate(n=Count("prints", filter=prints_q))
                  .values_list("pk", "n"))
    sessions = dict(Terminal.objects.annotate(n=Count("sessions", filter=sessions_q))
                    .values_list("pk", "n"))
    return [{"terminal": t, "requests_started": requests.get(t.pk, 0),
             "documents_delivered": prints.get(t.pk, 0),
             "sessions": sessions.get(t.pk, 0)}
            for t in terminals_overview()]
