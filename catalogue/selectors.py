"""Reads of the catalogue: every channel, the intake service and the back office use these."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from catalogue.constants import Category, Channel
from catalogue.models import Procedure, ProcedureQuerySet
from core.errors import NotFound


def procedure_get(*, code: str, channel: Channel | str | None = None) -> Procedure:
    """The active procedure `code`, offered on `channel` when one is given.

    Raises NotFound for an unknown or inactive code, and for a procedure the channel does not
    offer (a terminal must not start a counter-only procedure, whatever URL it calls).
    """
    queryset: ProcedureQuerySet = Procedure.objects.active()
    if channel is not None:
        try:
            queryset = queryset.offered_on(channel)
        except ValueError as exc:
            raise NotFound(_("This channel does not exist."), code="unknown_channel") from exc
    try:
        return queryset.get(code=str(code))
    except Procedure.DoesNotExist as exc:
        raise NotFound(_("This procedure does not exist or is not available here."),
                       code="unknown_procedure") from exc


def procedures_offered(*, channel: Channel | str,
                       category: Category | str | None = None) -> ProcedureQuerySet:
    """Active procedures offered on `channel` (optionally in one category), in catalogue
    order. An unknown category gives an empty list; an unknown channel raises NotFound."""
    try:
        queryset = Procedure.objects.offered_on(channel)
    except ValueError as exc:
        raise NotFound(_("This channel does not exist."), code="unknown_channel") from exc
    if category is not None:
        queryset = queryset.filter(category=str(category))
    return queryset.order_by("category", "sort_order", "code")
