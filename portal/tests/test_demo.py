"""The demo content command, on a database without the shared test tree."""

from __future__ import annotations

import pytest
from wagtail.models import Locale, Page, Site

from portal.models import CategoryPage, HomePage, ServicePage, StandardPage

LANGUAGES = ["fr", "nl", "en", "de"]
pytestmark = pytest.mark.django_db


def _run_demo() -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("portal_demo", stdout=out)
    return out.getvalue()


def test_demo_covers_every_category_and_procedure_in_four_languages_and_runs_twice(db):
    from catalogue.constants import Category
    from portal.tests.factories import ProcedureFactory

    procedures = {ProcedureFactory(bulky_items=True).pk, ProcedureFactory(counter_only=True).pk}
    inactive = ProcedureFactory(paid_certificate=True, active=False)
    _run_demo()
    assert Locale.objects.filter(language_code__in=LANGUAGES).count() == 4
    homes = {h.locale.language_code: h for h in HomePage.objects.live()}
    assert sorted(homes) == sorted(LANGUAGES)
    for home in homes.values():
        categories = CategoryPage.objects.child_of(home).live()
        assert sorted(c.category for c in categories) == sorted(Category.values)
        services = ServicePage.objects.descendant_of(home).live()
        assert {s.procedure_id for s in services} == procedures
        assert inactive.pk not in {s.procedure_id for s in services}
        assert {p.footer_key for p in StandardPage.objects.child_of(home).live()} == {
            "about", "accessibility", "privacy"}
    bulky_pages = ServicePage.objects.filter(procedure__code="bulky-items")
    assert len({p.translation_key for p in bulky_pages}) == 1
    assert bulky_pages.get(locale__language_code="nl").title == "Ophaling van grofvuil aan huis"
    # Wagtail's "Welcome" page is gone and the French home is the site root
    assert not Page.objects.filter(title__startswith="Welcome to your new Wagtail").exists()
    assert Site.objects.get(is_default_site=True).root_page.specific == homes["fr"]

    before = Page.objects.count()
    assert "0 created, 0 updated" in _run_demo()
    assert Page.objects.count() == before
