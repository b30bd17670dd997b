"""Euro amounts as citizens of each language read them (Belgian conventions, via Babel)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from django.utils.translation import get_language

BELGIAN_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "de": "de_BE", "en": "en_BE"}


def format_euros(cents: int) -> str:
    """1250 -> "12,50 €" in French, "€ 12,50" in Dutch."""
    locale = BELGIAN_LOCALES.get((get_language() or "fr")[:2], "fr_BE")
    return format_currency(Decimal(int(cents)) / 100, "EUR", locale=locale)
