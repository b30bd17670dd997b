"""Factories of the portal tests: our own catalogue rows, so the tests do not depend on the
catalogue's data file."""

from __future__ import annotations

import factory
from wagtail.models import Locale, Page, Site

from catalogue.models import Procedure
from portal.models import (
    CategoryPage,
    FooterLink,
    HomePage,
    HomePageTopTask,
    ServicePage,
    StandardPage,
)

LANGUAGES = ("fr", "nl", "en", "de")


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"procedure-{n}")
    name_fr = factory.Sequence(lambda n: f"Démarche {n}")
    name_nl = factory.Sequence(lambda n: f"Aanvraag {n}")
    name_en = factory.Sequence(lambda n: f"Procedure {n}")
    name_de = factory.Sequence(lambda n: f"Verfahren {n}")
    summary_fr = "Résumé de la démarche."
    summary_nl = "Samenvatting van de aanvraag."
    summary_en = "Summary of the procedure."
    summary_de = "Zusammenfassung des Verfahrens."
    category = "population"
    department = "demography"
    workflow_kind = "instant"
    delivery = "signed_pdf"
    offered_web = True
    offered_mobile = True
    offered_kiosk = True
    offered_counter = True
    fee_web = 0
    fee_mobile = 0
    fee_kiosk = 0
    fee_counter = 500
    required_assurance_level = 2
    sla_days = 0
    form_schema = factory.LazyFunction(lambda: {"type": "object", "properties": {}})

    class Params:
        bulky_items = factory.Trait(
            code="bulky-items",
            name_fr="Enlèvement d'encombrants à domicile",
            name_nl="Ophaling van grofvuil aan huis",
            name_en="Removal of bulky items at home",
            name_de="Sperrmüllabholung zu Hause",
            summary_fr="Meubles et matelas enlevés devant chez vous.",
            summary_nl="Meubelen en matrassen bij u thuis opgehaald.",
            summary_en="Furniture and mattresses collected at your door.",
            summary_de="Möbel und Matratzen vor Ihrer Tür abgeholt.",
            keywords="encombrants, grof huisvuil, grofvuil, bulky, bulky items, Sperrmüll",
            category="public_space",
            department="cleanliness",
            workflow_kind="intervention",
            delivery="visit",
            required_assurance_level=1,
            sla_days=15,
            attachments=factory.LazyFunction(lambda: [{
                "code": "photo", "required": False, "content_types": ["image/jpeg"],
                "max_bytes": 5_000_000,
                "label": {"fr": "Photo des objets", "nl": "Foto van de voorwerpen",
                          "en": "Photo of the items", "de": "Foto der Gegenstände"}}]),
        )
        paid_certificate = factory.Trait(
            code="criminal-record",
            name_fr="Extrait du casier judiciaire",
            name_nl="Uittreksel uit het strafregister",
            name_en="Extract from the criminal record",
            name_de="Auszug aus dem Strafregister",
            category="justice",
            fee_web=500, fee_mobile=500, fee_kiosk=750, fee_counter=123456,
            required_assurance_level=3,
            sla_days=1,
        )
        counter_only = factory.Trait(
            code="digital-key-activation",
            name_fr="Activation d'une clé numérique",
            name_nl="Activering van een digitale sleutel",
            name_en="Digital key activation",
            name_de="Aktivierung eines digitalen Schlüssels",
            category="access",
            offered_web=False, offered_mobile=False, offered_kiosk=False,
            required_assurance_level=0,
        )


def build_portal_tree() -> dict:
    """Four locale trees over three procedures of our own: home > category > service, and
    an accessibility statement. Pages are created live without revisions (what the demo
    command does with revisions is tested on its own)."""
    bulky = ProcedureFactory(bulky_items=True)
    record = ProcedureFactory(paid_certificate=True)
    counter = ProcedureFactory(counter_only=True)
    root = Page.get_first_root_node()
    if root is None:  # a transactional test flushed the tree that migrations created
        root = Page.add_root(instance=Page(
            title="Root", slug="root",
            locale=Locale.objects.get_or_create(language_code="fr")[0]))
    keys: dict[str, object] = {}
    ids: dict[str, dict[str, int]] = {}

    def add(kind: str, language: str, parent: Page, page: Page) -> Page:
        # the pages of one thing in every language share a translation key
        page.translation_key = keys.setdefault(kind, page.translation_key)
        parent.add_child(instance=page)
        ids.setdefault(kind, {})[language] = page.pk
        return page

    titles = {
        "home": {"fr": "Accueil", "nl": "Startpagina", "en": "Home", "de": "Startseite"},
        "public_space": {"fr": "Espace public", "nl": "Openbare ruimte",
                         "en": "Public space", "de": "Öffentlicher Raum"},
        "justice": {"fr": "Justice", "nl": "Justitie", "en": "Justice", "de": "Justiz"},
        "access": {"fr": "Accès numérique", "nl": "Digitale toegang",
                   "en": "Digital access", "de": "Digitaler Zugang"},
        "accessibility": {"fr": "Déclaration d'accessibilité",
                          "nl": "Toegankelijkheidsverklaring",
                          "en": "Accessibility statement",
                          "de": "Erklärung zur Barrierefreiheit"},
    }
    for language in LANGUAGES:
        locale, _ = Locale.objects.get_or_create(language_code=language)
        home = add("home", language, root, HomePage(
            title=titles["home"][language], slug=f"home-{language}", locale=locale,
            intro="Guichet"))
        for order, procedure in enumerate([record, bulky]):
            HomePageTopTask.objects.create(page=home, procedure=procedure, sort_order=order)
        for category, procedure, kind in [("public_space", bulky, "bulky"),
                                          ("justice", record, "record"),
                                          ("access", counter, "counter")]:
            category_page = add(category, language, home, CategoryPage(
                title=titles[category][language], category=category, locale=locale,
                intro=f"{titles[category][language]}."))
            add(kind, language, category_page, ServicePage(
                title=getattr(procedure, f"name_{language}"), procedure=procedure,
                locale=locale, intro=getattr(procedure, f"summary_{language}"),
                who_can_ask="<p>Everyone.</p>"))
        add("accessibility", language, home, StandardPage(
            title=titles["accessibility"][language], locale=locale,
            footer_key=FooterLink.ACCESSIBILITY, intro="WCAG 2.1 AA"))
        if language == "fr":
            Site.objects.update_or_create(is_default_site=True, defaults={
                "hostname": "localhost", "port": 80, "root_page": home})
    return {"procedures": {"bulky": bulky.pk, "record": record.pk, "counter": counter.pk},
            "pages": ids}
