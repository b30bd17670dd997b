"""Per-language model fields (`name_fr`, `name_nl`, ...) read in the active language."""

from django.conf import settings
from django.utils import translation


def active_language() -> str:
    lang = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return lang if lang in settings.LANGUAGE_CODES else settings.LANGUAGE_CODE


def localized_attr(obj: object, field: str, language: str | None = None) -> str:
    """`obj.<field>_<lang>`, falling back to the default language when empty."""
    lang = language or active_language()
    value = getattr(obj, f"{field}_{lang}", "") or ""
    if not value:
        value = getattr(obj, f"{field}_{settings.LANGUAGE_CODE}", "") or ""
    return value


def localized_value(mapping: dict | None, language: str | None = None) -> str:
    """A `{"fr": ..., "nl": ...}` mapping read in the active language, with fallback."""
    if not mapping:
        return ""
    lang = language or active_language()
    return mapping.get(lang) or mapping.get(settings.LANGUAGE_CODE) or next(iter(mapping.values()))
