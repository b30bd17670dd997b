"""Template helpers of the site layout: money, navigation and the language switcher.

Navigation and the translations of a page are read once per publish (portal.cache
fragments), not once per request: they are on every page.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_currency
from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from wagtail.models import Locale, Page

from catalogue.constants import Channel
from identity.constants import AssuranceLevel
from portal import cache as page_cache

register = template.Library()

# Babel locales for amounts: Belgian conventions; English readers get the Irish euro format.
_MONEY_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_IE", "de": "de_BE"}


def _language() -> str:
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in settings.LANGUAGE_CODES else settings.LANGUAGE_CODE


@register.filter
def euro(cents: Any) -> str:
    """An amount in euro cents written the way readers of the active language expect."""
    try:
        amount = int(cents) / 100
    except (TypeError, ValueError):
        return ""
    return format_currency(amount, "EUR", locale=_MONEY_LOCALES.get(_language(), "fr_BE"))


@register.filter
def fee_text(cents: Any) -> str:
    try:
        if int(cents) == 0:
            return _("Free")
    except (TypeError, ValueError):
        return ""
    return euro(cents)


@register.filter
def delay_text(days: Any) -> str:
    try:
        days = int(days)
    except (TypeError, ValueError):
        return ""
    if days == 0:
        return _("Immediately, online")
    return ngettext("Within %(days)d working day", "Within %(days)d working days",
                    days) % {"days": days}


@register.filter
def channel_label(code: str) -> str:
    try:
        return str(Channel(code).label)
    except ValueError:
        return code


_LEVEL_EXPLANATIONS = {
    AssuranceLevel.NONE: gettext_lazy("No login needed."),
    AssuranceLevel.LOW: gettext_lazy(
        "Log in with a digital key that sends you a code by e-mail, or any stronger means."),
    AssuranceLevel.SUBSTANTIAL: gettext_lazy(
        "Log in with your eID card and a card reader, itsme, or a digital key with an "
        "authenticator app or a passkey."),
    AssuranceLevel.HIGH: gettext_lazy(
        "Log in with your eID card and a card reader, or with itsme."),
}


@register.filter
def assurance_explanation(level: Any) -> str:
    try:
        level = AssuranceLevel(int(level))
    except (TypeError, ValueError):
        return ""
    return str(_LEVEL_EXPLANATIONS[level])


def _nav_for_language(language: str) -> dict[str, Any]:
    from portal.models import CategoryPage, HomePage, StandardPage

    locale = Locale.objects.filter(language_code=language).first()
    if locale is None:
        return {"home_url": f"/{language}/", "categories": [], "footer": {}}
    home = HomePage.objects.live().filter(locale=locale).order_by("path").first()
    categories = []
    if home is not None:
        categories = [
            {"title": page.title, "url": page.get_url(), "path": page.path}
            for page in CategoryPage.objects.child_of(home).live().public().order_by("path")
        ]
    footer = {
        page.footer_key: page.get_url()
        for page in StandardPage.objects.live().public().filter(locale=locale)
        .exclude(footer_key="").order_by("-path")
    }
    return {
        "home_url": (home.get_url() if home else None) or f"/{language}/",
        "categories": categories,
        "footer": footer,
    }


@register.simple_tag(takes_context=True)
def portal_navigation(context: template.Context) -> SimpleLazyObject:
    """Home link and main navigation (category pages) of the active language; read only
    when the template uses it (a cached header does not)."""
    return SimpleLazyObject(lambda: _navigation(context))


def _navigation(context: template.Context) -> dict[str, Any]:
    language = _language()
    try:
        nav = page_cache.cached_fragment(f"nav:{language}",
                                         lambda: _nav_for_language(language))
    except Exception:  # noqa: BLE001 - the layout must render even when the CMS tables are not there
        nav = {"home_url": f"/{language}/", "categories": [], "footer": {}}
    page = context.get("page")
    current_path = getattr(page, "path", "") if isinstance(page, Page) else ""
    categories = [
        # a page lies in a section when the section's tree path is a prefix of its own
        {**item, "current": bool(current_path) and current_path.startswith(item["path"])}
        for item in nav["categories"]
    ]
    return {"home_url": nav["home_url"], "categories": categories, "footer": nav["footer"]}


def _translations_of(page: Page) -> dict[str, str]:
    urls: dict[str, str] = {}
    for translation_page in (page.get_translations(inclusive=True).live().public()
                             .select_related("locale")):
        url = translation_page.get_url()
        if url:
            urls[translation_page.locale.language_code] = url
    return urls


@register.simple_tag(takes_context=True)
def language_links(context: template.Context) -> list[dict[str, Any]]:
    """One link per language, to the same page in that language.

    For a Wagtail page: its translation (or that language's home page when there is none);
    for another page: the same path under the other language prefix.
    """
    current = _language()
    request = context.get("request")
    page = context.get("page")
    translations: dict[str, str] = {}
    if isinstance(page, Page) and page.pk:
        try:
            translations = page_cache.cached_fragment(
                f"translations:{page.pk}", lambda: _translations_of(page))
        except Exception:  # noqa: BLE001 - see portal_navigation
            translations = {}
    links = []
    for code, name in settings.LANGUAGES:
        if isinstance(page, Page) and page.pk:
            url = translations.get(code)
            if url is None:
                url = _home_url(code)
        elif request is not None:
            url = translate_url(request.get_full_path(), code)
        else:
            url = f"/{code}/"
        links.append({"code": code, "name": name, "url": url, "current": code == current})
    return links


def _home_url(language: str) -> str:
    try:
        nav = page_cache.cached_fragment(f"nav:{language}",
                                         lambda: _nav_for_language(language))
        return nav["home_url"]
    except Exception:  # noqa: BLE001 - see portal_navigation
        return f"/{language}/"


@register.filter
def fee_on(procedure: Any, channel: str) -> int | None:
    try:
        return procedure.fee_for(channel)
    except (AttributeError, ValueError):
        return None


@register.simple_tag
def localized_label(mapping: Any) -> str:
    """A catalogue label ({"fr": ..., "nl": ...}) in the active language."""
    from core.i18n import localized_value

    if isinstance(mapping, dict):
        return localized_value(mapping)
    return str(mapping or "")


@register.simple_tag
def breadcrumb_items(page: Page) -> list[dict[str, str]]:
    """The ancestors of a page below the tree root, as (title, url), read once per publish."""
    def build() -> list[dict[str, str]]:
        return [{"title": ancestor.title, "url": ancestor.get_url()}
                for ancestor in page.get_ancestors().filter(depth__gt=1)]

    return page_cache.cached_fragment(f"breadcrumb:{page.pk}", build)


class FragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, parts: list[template.base.FilterExpression]):
        self.nodelist = nodelist
        self.parts = parts

    def render(self, context: template.Context) -> str:
        request = context.get("request")
        user = getattr(request, "user", None)
        # Only anonymous visitors share fragments: a logged-in page carries a CSRF token
        # and the visitor's own links.
        if request is None or user is None or user.is_authenticated:
            return self.nodelist.render(context)
        values = [str(part.resolve(context)) for part in self.parts]
        if not all(values):  # a key part that is missing here: nothing safe to share
            return self.nodelist.render(context)
        key = ":".join(values)
        return page_cache.cached_fragment(
            f"html:{_language()}:{key}", lambda: self.nodelist.render(context))


@register.tag("portal_fragment")
def portal_fragment(parser: template.base.Parser, token: template.base.Token) -> FragmentNode:
    """{% portal_fragment "name" var ... %}...{% endportal_fragment %}: the enclosed HTML
    rendered once per language, key and publish for anonymous visitors."""
    bits = token.split_contents()[1:]
    if not bits:
        raise template.TemplateSyntaxError("portal_fragment needs a name")
    nodelist = parser.parse(("endportal_fragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, [parser.compile_filter(bit) for bit in bits])
