"""Template helpers of the CIRM screens."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from django import template
from django.utils.translation import gettext as _

from core.i18n import active_language
from crm.workflow import CaseState

register = template.Library()

BELGIAN_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "de": "de_BE", "en": "en_BE"}


@register.filter
def euros(cents: Any) -> str:
    """An amount in cents as euros in the active language ("12,50 €"); "free" for 0."""
    try:
        value = int(cents)
    except (TypeError, ValueError):
        return ""
    if value == 0:
        return _("free")
    locale = BELGIAN_LOCALES.get(active_language(), "fr_BE")
    return format_currency(Decimal(value) / 100, "EUR", locale=locale)


@register.inclusion_tag("crm/includes/state_badge.html")
def state_badge(state: str) -> dict[str, str]:
    try:
        label = CaseState(state).label
    except ValueError:
        label = state
    return {"state": state, "label": str(label)}
