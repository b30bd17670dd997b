"""Demo content of the portal: the Site, four locale trees, a page per category and per
procedure, and the information pages. Safe to run twice: pages are found again by their
translation key (fixed per home, category, procedure and information page) and only saved
and published when their content changed. Runs after `load_catalogue`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify
from wagtail.models import Locale, Page, Site

from catalogue.constants import Category
from catalogue.models import Procedure
from portal import cache as page_cache
from portal.models import CategoryPage, HomePage, HomePageTopTask, ServicePage, StandardPage

LANGUAGES = ("fr", "nl", "en", "de")
_NAMESPACE = uuid.UUID("6f1d2b8e-3c5a-4f0e-9b7d-2a4c6e8f0a1b")
TOP_TASK_CODES = ["household-composition", "main-residence", "criminal-record", "bulky-items",
                  "resident-parking-card", "identity-card-appointment"]


def key(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, name)


HOME = {
    "fr": ("Guichet électronique de la Ville",
           "Demandez vos documents et signalez un problème en ligne, à toute heure."),
    "nl": ("Elektronisch loket van de Stad",
           "Vraag uw documenten aan en meld een probleem online, op elk moment."),
    "en": ("The City's online counter",
           "Request your documents and report a problem online, at any time."),
    "de": ("Online-Schalter der Stadt",
           "Beantragen Sie Ihre Dokumente und melden Sie Probleme online, rund um die Uhr."),
}

CATEGORIES: dict[str, dict[str, tuple[str, str]]] = {
    Category.POPULATION: {
        "fr": ("Certificats de population", "Composition de ménage, résidence, nationalité, "
               "vie et autres certificats, délivrés immédiatement et signés électroniquement."),
        "nl": ("Bevolkingsattesten", "Gezinssamenstelling, woonplaats, nationaliteit, leven en "
               "andere attesten, onmiddellijk afgeleverd en elektronisch ondertekend."),
        "en": ("Population certificates", "Household composition, residence, nationality, life "
               "and other certificates, issued at once and electronically sealed."),
        "de": ("Bevölkerungsbescheinigungen", "Haushaltszusammensetzung, Wohnsitz, "
               "Staatsangehörigkeit, Leben und weitere Bescheinigungen, sofort ausgestellt."),
    },
    Category.CIVIL_STATUS: {
        "fr": ("Extraits d'état civil", "Naissance, mariage, décès, adoption, divorce et "
               "changements de nom, vérifiés par un agent."),
        "nl": ("Uittreksels burgerlijke stand", "Geboorte, huwelijk, overlijden, adoptie, "
               "echtscheiding en naamswijzigingen, nagekeken door een medewerker."),
        "en": ("Civil status extracts", "Birth, marriage, death, adoption, divorce and name "
               "changes, checked by an officer."),
        "de": ("Auszüge aus dem Personenstandsregister", "Geburt, Ehe, Tod, Adoption, "
               "Scheidung und Namensänderungen, von einem Sachbearbeiter geprüft."),
    },
    Category.JUSTICE: {
        "fr": ("Justice", "Extrait du casier judiciaire."),
        "nl": ("Justitie", "Uittreksel uit het strafregister."),
        "en": ("Justice", "Extract from the criminal record."),
        "de": ("Justiz", "Auszug aus dem Strafregister."),
    },
    Category.EID: {
        "fr": ("Carte d'identité", "Nouveau code PIN et PUK de votre carte eID."),
        "nl": ("Identiteitskaart", "Nieuwe PIN- en PUK-code voor uw eID."),
        "en": ("Identity card", "New PIN and PUK code for your eID card."),
        "de": ("Personalausweis", "Neuer PIN- und PUK-Code für Ihren eID-Ausweis."),
    },
    Category.PUBLIC_SPACE: {
        "fr": ("Espace public", "Signaler un problème, enlèvement d'encombrants, "
               "verdurisation, dératisation et enlèvement de graffitis."),
        "nl": ("Openbare ruimte", "Een probleem melden, ophaling van grof huisvuil, "
               "vergroening, rattenbestrijding en verwijdering van graffiti."),
        "en": ("Public space", "Report a problem, bulky items collection, greening, "
               "deratting and graffiti removal."),
        "de": ("Öffentlicher Raum", "Probleme melden, Sperrmüllabholung, Begrünung, "
               "Rattenbekämpfung und Graffitientfernung."),
    },
    Category.PERMITS: {
        "fr": ("Autorisations et cartes", "Artiste de rue, carte de riverain, autorisation "
               "parentale."),
        "nl": ("Vergunningen en kaarten", "Straatartiest, bewonerskaart, ouderlijke "
               "toestemming."),
        "en": ("Permits and cards", "Street artist, resident parking card, parental "
               "authorisation."),
        "de": ("Genehmigungen und Karten", "Straßenkünstler, Anwohnerparkkarte, "
               "Einverständniserklärung der Eltern."),
    },
    Category.APPOINTMENTS: {
        "fr": ("Rendez-vous", "Passeport, carte d'identité et location de matériel."),
        "nl": ("Afspraken", "Paspoort, identiteitskaart en uitlenen van materiaal."),
        "en": ("Appointments", "Passport, identity card and equipment rental."),
        "de": ("Termine", "Reisepass, Personalausweis und Materialverleih."),
    },
    Category.ACCESS: {
        "fr": ("Accès numérique", "Obtenir une clé numérique pour vous connecter sans "
               "carte eID."),
        "nl": ("Digitale toegang", "Een digitale sleutel krijgen om zonder eID in te "
               "loggen."),
        "en": ("Digital access", "Get a digital key to log in without an eID card."),
        "de": ("Digitaler Zugang", "Einen digitalen Schlüssel erhalten, um sich ohne "
               "eID-Karte anzumelden."),
    },
}

WHO_CAN_ASK = {
    "fr": "<p>Toute personne inscrite dans les registres de la population ou des étrangers de "
          "la Ville, pour elle-même ou, selon la démarche, pour un membre de son ménage.</p>",
    "nl": "<p>Iedereen die ingeschreven is in de bevolkings- of vreemdelingenregisters van de "
          "Stad, voor zichzelf of, afhankelijk van de aanvraag, voor een gezinslid.</p>",
    "en": "<p>Anyone registered in the City's population or foreigners' registers, for "
          "themselves or, depending on the procedure, for a member of their household.</p>",
    "de": "<p>Alle im Bevölkerungs- oder Fremdenregister der Stadt eingetragenen Personen, "
          "für sich selbst oder, je nach Verfahren, für ein Haushaltsmitglied.</p>",
}

WHAT_YOU_NEED = {
    "fr": "<p>Votre carte d'identité électronique, itsme ou une clé numérique pour vous "
          "connecter.</p>",
    "nl": "<p>Uw elektronische identiteitskaart, itsme of een digitale sleutel om in te "
          "loggen.</p>",
    "en": "<p>Your electronic identity card, itsme or a digital key to log in.</p>",
    "de": "<p>Ihren elektronischen Personalausweis, itsme oder einen digitalen Schlüssel zur "
          "Anmeldung.</p>",
}

INFORMATION_PAGES: dict[str, dict[str, Any]] = {
    "about": {
        "fr": ("À propos", "Le Guichet électronique rassemble les démarches de la Ville.",
               [("Un seul guichet", "Sur le web, sur votre téléphone, sur une borne dans une "
                 "antenne ou au guichet : votre demande suit le même chemin.")]),
        "nl": ("Over ons", "Het elektronisch loket bundelt de aanvragen van de Stad.",
               [("Eén loket", "Op het web, op uw telefoon, aan een zuil in een antenne of aan "
                 "het loket: uw aanvraag volgt dezelfde weg.")]),
        "en": ("About", "The online counter brings the City's procedures together.",
               [("One counter", "On the web, on your phone, at a terminal in a branch or at "
                 "the counter: your request follows the same path.")]),
        "de": ("Über uns", "Der Online-Schalter bündelt die Verfahren der Stadt.",
               [("Ein Schalter", "Im Web, auf Ihrem Telefon, an einem Terminal in einer "
                 "Zweigstelle oder am Schalter: Ihr Antrag geht denselben Weg.")]),
    },
    "accessibility": {
        "fr": ("Déclaration d'accessibilité", "La Ville s'engage à rendre ce site accessible "
               "conformément aux WCAG 2.1 niveau AA.",
               [("État de conformité", "Ce site vise la conformité aux WCAG 2.1 AA. "
                 "Signalez-nous tout obstacle : nous répondons sous 10 jours ouvrables.")]),
        "nl": ("Toegankelijkheidsverklaring", "De Stad verbindt zich ertoe deze site "
               "toegankelijk te maken volgens WCAG 2.1 niveau AA.",
               [("Nalevingsstatus", "Deze site streeft naar naleving van WCAG 2.1 AA. Meld ons "
                 "elk obstakel: we antwoorden binnen 10 werkdagen.")]),
        "en": ("Accessibility statement", "The City is committed to making this site "
               "accessible in line with WCAG 2.1 level AA.",
               [("Compliance status", "This site aims to conform to WCAG 2.1 AA. Tell us "
                 "about any barrier: we answer within 10 working days.")]),
        "de": ("Erklärung zur Barrierefreiheit", "Die Stadt verpflichtet sich, diese Website "
               "gemäß WCAG 2.1 Stufe AA barrierefrei zu gestalten.",
               [("Stand der Vereinbarkeit", "Diese Website strebt die Konformität mit WCAG "
                 "2.1 AA an. Melden Sie uns jede Barriere: Wir antworten binnen 10 "
                 "Arbeitstagen.")]),
    },
    "privacy": {
        "fr": ("Vie privée", "Comment la Ville traite vos données personnelles.",
               [("Vos données", "Nous utilisons vos données uniquement pour traiter vos "
                 "demandes, conformément au RGPD.")]),
        "nl": ("Privacy", "Hoe de Stad uw persoonsgegevens verwerkt.",
               [("Uw gegevens", "We gebruiken uw gegevens enkel om uw aanvragen te "
                 "behandelen, in overeenstemming met de AVG.")]),
        "en": ("Privacy", "How the City processes your personal data.",
               [("Your data", "We use your data only to handle your requests, in line with "
                 "the GDPR.")]),
        "de": ("Datenschutz", "Wie die Stadt Ihre personenbezogenen Daten verarbeitet.",
               [("Ihre Daten", "Wir verwenden Ihre Daten nur zur Bearbeitung Ihrer Anträge, "
                 "gemäß der DSGVO.")]),
    },
}


class Command(BaseCommand):
    help = "Create or update the portal's demo pages in four languages. Safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "unpublished": 0}
        with transaction.atomic():
            locales = {code: Locale.objects.get_or_create(language_code=code)[0]
                       for code in LANGUAGES}
            homes = self._homes(locales)
            self._site(homes[settings.LANGUAGE_CODE])
            self._remove_welcome_page()
            procedures = list(Procedure.objects.all())
            for language, home in homes.items():
                categories = self._categories(home, language)
                self._services(categories, language, procedures)
                self._information_pages(home, language)
                self._top_tasks(home)
        page_cache.purge()
        self.stdout.write(
            "portal_demo: {created} created, {updated} updated, {unchanged} unchanged, "
            "{unpublished} unpublished".format(**self.counts))

    # --- helpers ----------------------------------------------------------------------

    def _upsert(self, model: type[Page], *, parent: Page, translation_key: uuid.UUID,
                locale: Locale, fields: dict[str, Any]) -> Page:
        page = model.objects.filter(translation_key=translation_key, locale=locale).first()
        if page is None:
            page = model(translation_key=translation_key, locale=locale, **fields)
            page.slug = self._free_slug(parent, fields.get("slug") or slugify(fields["title"]),
                                        locale=locale)
            parent.add_child(instance=page)
            page.save_revision().publish()
            self.counts["created"] += 1
            return page
        changed = False
        for name, value in fields.items():
            if name == "slug":
                continue
            current = getattr(page, name)
            if name == "body":
                current = current.raw_data
                value = list(value)
                current = [{"type": b["type"], "value": b["value"]} for b in current]
            if current != value:
                setattr(page, name, value)
                changed = True
        if changed or not page.live:
            page.save_revision().publish()
            self.counts["updated"] += 1
        else:
            self.counts["unchanged"] += 1
        return page

    @staticmethod
    def _free_slug(parent: Page, slug: str, *, locale: Locale) -> str:
        base = slug[:240] or "page"
        candidate, n = base, 2
        while parent.get_children().filter(slug=candidate).exists():
            candidate = f"{base}-{n}"
            n += 1
        return candidate

    def _homes(self, locales: dict[str, Locale]) -> dict[str, HomePage]:
        root = Page.get_first_root_node()
        if root is None:  # a database flushed after migrations lost Wagtail's tree root
            root = Page.add_root(instance=Page(title="Root", slug="root",
                                               locale=locales[settings.LANGUAGE_CODE]))
        homes = {}
        for language in LANGUAGES:
            title, intro = HOME[language]
            homes[language] = self._upsert(
                HomePage, parent=root, translation_key=key("home"), locale=locales[language],
                fields={"title": title, "intro": intro, "slug": f"home-{language}"})
        return homes

    def _site(self, home: HomePage) -> None:
        site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
        if site is None:
            Site.objects.create(hostname="localhost", port=80, root_page=home,
                                is_default_site=True, site_name="Guichet")
        elif site.root_page_id != home.pk or site.site_name != "Guichet":
            site.root_page = home
            site.site_name = "Guichet"
            site.is_default_site = True
            site.save()

    def _remove_welcome_page(self) -> None:
        """Wagtail's initial "Welcome to your new Wagtail site!" page: a plain Page at the
        top of the tree. Our Site no longer points at it, so it can go."""
        base_type = ContentType.objects.get_for_model(Page)
        for page in Page.objects.filter(depth=2, content_type=base_type):
            if not Site.objects.filter(root_page=page).exists():
                page.delete()

    def _categories(self, home: HomePage, language: str) -> dict[str, CategoryPage]:
        pages = {}
        for category in Category:
            title, intro = CATEGORIES[category][language]
            pages[category.value] = self._upsert(
                CategoryPage, parent=home, translation_key=key(f"category:{category.value}"),
                locale=home.locale,
                fields={"title": title, "intro": intro, "category": category.value})
        return pages

    def _services(self, categories: dict[str, CategoryPage], language: str,
                  procedures: list[Procedure]) -> None:
        for procedure in procedures:
            translation_key = key(f"procedure:{procedure.code}")
            if not procedure.active:
                for page in ServicePage.objects.live().filter(
                        translation_key=translation_key, locale=categories[
                            procedure.category].locale):
                    page.unpublish()
                    self.counts["unpublished"] += 1
                continue
            parent = categories[procedure.category]
            title = getattr(procedure, f"name_{language}") or procedure.name_fr
            self._upsert(ServicePage, parent=parent, translation_key=translation_key,
                         locale=parent.locale, fields={
                             "title": title,
                             "procedure": procedure,
                             "intro": getattr(procedure, f"summary_{language}") or "",
                             "who_can_ask": WHO_CAN_ASK[language],
                             "what_you_need": WHAT_YOU_NEED[language],
                         })

    def _information_pages(self, home: HomePage, language: str) -> None:
        for footer_key, texts in INFORMATION_PAGES.items():
            title, intro, sections = texts[language]
            body = []
            for heading, paragraph in sections:
                body.append({"type": "heading", "value": {"text": heading, "level": "h2"}})
                body.append({"type": "paragraph", "value": f"<p>{paragraph}</p>"})
            self._upsert(StandardPage, parent=home, translation_key=key(f"info:{footer_key}"),
                         locale=home.locale, fields={
                             "title": title, "intro": intro, "footer_key": footer_key,
                             "body": body})

    @staticmethod
    def _top_tasks(home: HomePage) -> None:
        wanted = [p for code in TOP_TASK_CODES
                  for p in Procedure.objects.active().filter(code=code)]
        current = list(home.top_tasks.values_list("procedure_id", flat=True))
        if current == [p.pk for p in wanted]:
            return
        HomePageTopTask.objects.filter(page=home).delete()
        for order, procedure in enumerate(wanted):
            HomePageTopTask.objects.create(page=home, procedure=procedure, sort_order=order)
