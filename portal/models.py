"""The public portal's Wagtail pages, one tree per language (fr, nl, en, de).

HomePage (one per locale, translations of each other) > CategoryPage (one per catalogue
category) > ServicePage (one per procedure). StandardPages hold free information (about,
accessibility statement, privacy). The catalogue stays the single source of fees, delays,
channels and assurance levels: a ServicePage only adds the editorial text around them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Locale, Orderable, Page, PageViewRestriction
from wagtail.search import index

from catalogue.constants import Category
from catalogue.models import Procedure

# --- StreamField blocks of the information pages -----------------------------------------


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("heading"), max_length=120)
    level = blocks.ChoiceBlock(
        label=_("level"), choices=[("h2", _("level 2")), ("h3", _("level 3"))], default="h2")

    class Meta:
        template = "portal/blocks/heading.html"
        icon = "title"
        label = _("Heading")


class AccessibleImageBlock(blocks.StructBlock):
    """An image always carries a text alternative: WCAG 1.1.1 is not optional here."""

    image = ImageChooserBlock(label=_("image"))
    alt = blocks.CharBlock(
        label=_("alternative text"), max_length=250, required=True,
        help_text=_("Describe what the image shows for people who cannot see it."))
    caption = blocks.CharBlock(label=_("caption"), max_length=250, required=False)

    class Meta:
        template = "portal/blocks/image.html"
        icon = "image"
        label = _("Image")


class CallToActionBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("button text"), max_length=80)
    page = blocks.PageChooserBlock(label=_("page"), required=False)
    url = blocks.URLBlock(label=_("or address"), required=False)

    class Meta:
        template = "portal/blocks/call_to_action.html"
        icon = "link"
        label = _("Call to action")

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value.get("page") and not value.get("url"):
            raise StructBlockValidationError(
                block_errors={"page": ValidationError(_("Choose a page or enter an address."))})
        return value


class InformationStreamBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        label=_("Paragraph"), features=["bold", "italic", "link", "ol", "ul", "document-link"],
        template="portal/blocks/paragraph.html")
    image = AccessibleImageBlock()
    call_to_action = CallToActionBlock()


# --- pages ------------------------------------------------------------------------------


class PortalPage(Page):
    """Shared behaviour of the portal's pages: localized siblings for the language switcher."""

    class Meta:
        abstract = True

    def get_view_restrictions(self) -> models.QuerySet:
        # While no page of the site is restricted (the usual case of a public portal) the
        # two look-ups per request are skipped; adding a restriction purges the cache.
        from portal.routing import any_view_restriction

        if not any_view_restriction():
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


class HomePage(PortalPage):
    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        InlinePanel("top_tasks", label=_("Top tasks"), max_num=12),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["portal.CategoryPage", "portal.StandardPage"]
    template = "portal/home_page.html"

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from portal.cache import cached_fragment

        context = super().get_context(request, *args, **kwargs)
        # The same for every visitor until the next publish: read once per generation, and
        # only when the page's content is rendered (not when its HTML fragment is cached).
        listings = SimpleLazyObject(lambda: cached_fragment(f"home:{self.pk}", self._listings))
        context["top_tasks"] = SimpleLazyObject(lambda: listings["top_tasks"])
        context["categories"] = SimpleLazyObject(lambda: listings["categories"])
        return context

    def _listings(self) -> dict[str, Any]:
        procedures = [task.procedure for task in
                      self.top_tasks.select_related("procedure").filter(procedure__active=True)]
        pages = service_pages_by_procedure(locale_id=self.locale_id,
                                           procedure_ids=[p.pk for p in procedures])
        return {
            "top_tasks": [{"procedure": p, "title": pages[p.pk].title if p.pk in pages else p.name,
                           "url": pages[p.pk].get_url() if p.pk in pages else None}
                          for p in procedures],
            "categories": [{"title": c.title, "intro": c.intro, "url": c.get_url()}
                           for c in category_pages(locale_id=self.locale_id)],
        }


class HomePageTopTask(Orderable):
    """A procedure shown first on the home page: what most citizens come for."""

    page = ParentalKey(HomePage, related_name="top_tasks", on_delete=models.CASCADE)
    procedure = models.ForeignKey(Procedure, verbose_name=_("procedure"),
                                  on_delete=models.CASCADE, related_name="+")

    panels = [FieldPanel("procedure")]

    class Meta(Orderable.Meta):
        verbose_name = _("top task")


class CategoryPage(PortalPage):
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("category"), FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro"),
                     index.FilterField("category")]
    parent_page_types = ["portal.HomePage"]
    subpage_types = ["portal.ServicePage", "portal.StandardPage"]
    template = "portal/category_page.html"

    class Meta:
        verbose_name = _("category page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from portal.cache import cached_fragment

        context = super().get_context(request, *args, **kwargs)
        context["services"] = SimpleLazyObject(
            lambda: cached_fragment(f"category:{self.pk}", self._services))
        return context

    def _services(self) -> list[dict[str, Any]]:
        return [
            {"title": page.title, "url": page.get_url(), "intro": page.intro,
             "procedure": page.procedure}
            for page in ServicePage.objects.child_of(self).live().public()
            .filter(procedure__active=True)
            .select_related("procedure")
            .order_by("procedure__sort_order", "title")
        ]


class ServicePage(PortalPage):
    """The information page of one procedure; fee, delay, channels and the assurance level
    are read from the catalogue at render time so they never drift from what is charged."""

    procedure = models.ForeignKey(Procedure, verbose_name=_("procedure"),
                                  on_delete=models.PROTECT, related_name="service_pages")
    intro = models.TextField(_("introduction"), blank=True)
    what_you_need = RichTextField(_("what you need"), blank=True,
                                  features=["bold", "italic", "link", "ol", "ul"])
    who_can_ask = RichTextField(_("who can ask"), blank=True,
                                features=["bold", "italic", "link", "ol", "ul"])
    more_information = RichTextField(_("more information"), blank=True,
                                     features=["h2", "h3", "bold", "italic", "link", "ol", "ul"])

    content_panels = [
        *Page.content_panels,
        FieldPanel("procedure"),
        FieldPanel("intro"),
        MultiFieldPanel([FieldPanel("what_you_need"), FieldPanel("who_can_ask"),
                         FieldPanel("more_information")], heading=_("Text")),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("what_you_need"),
        index.SearchField("who_can_ask"),
        index.FilterField("procedure"),
    ]
    parent_page_types = ["portal.CategoryPage"]
    subpage_types: list[str] = []
    template = "portal/service_page.html"

    class Meta:
        verbose_name = _("service page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from identity.selectors import assurance_level_of

        context = super().get_context(request, *args, **kwargs)
        procedure = self.procedure
        level = assurance_level_of(request)
        context.update(
            procedure=procedure,
            visitor_level=level,
            needs_higher_level=level < procedure.required_assurance_level,
            offered_on_web=procedure.active and procedure.offers("web"),
        )
        return context


class FooterLink(models.TextChoices):
    ABOUT = "about", _("About")
    ACCESSIBILITY = "accessibility", _("Accessibility statement")
    PRIVACY = "privacy", _("Privacy")


class StandardPage(PortalPage):
    intro = models.TextField(_("introduction"), blank=True)
    body = StreamField(InformationStreamBlock(), verbose_name=_("body"), blank=True)
    footer_key = models.CharField(
        _("footer link"), max_length=32, choices=FooterLink.choices, blank=True,
        help_text=_("Link to this page from the footer of every page of its language."))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    promote_panels = [*Page.promote_panels, FieldPanel("footer_key")]
    search_fields = [*Page.search_fields, index.SearchField("intro"),
                     index.SearchField("body")]
    parent_page_types = ["portal.HomePage", "portal.CategoryPage", "portal.StandardPage"]
    template = "portal/standard_page.html"

    class Meta:
        verbose_name = _("information page")


# --- reads used by the pages and the search view ---------------------------------------


def category_pages(*, locale_id: int | None) -> list[CategoryPage]:
    return list(CategoryPage.objects.live().public().filter(locale_id=locale_id)
                .order_by("path"))


def service_pages_by_procedure(*, locale_id: int | None,
                               procedure_ids: list[int]) -> dict[int, ServicePage]:
    """The live service page of each procedure in one locale, in one query."""
    pages: dict[int, ServicePage] = {}
    if not procedure_ids:
        return pages
    for page in (ServicePage.objects.live().public()
                 .filter(locale_id=locale_id, procedure_id__in=procedure_ids)
                 .order_by("path")):
        pages.setdefault(page.procedure_id, page)
    return pages


def active_locale_id() -> int | None:
    try:
        return Locale.get_active().pk
    except Locale.DoesNotExist:
        return None
