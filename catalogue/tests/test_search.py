"""Procedures are found by the words citizens use, in each language (Wagtail search)."""

from __future__ import annotations

import pytest
from wagtail.search.backends import get_search_backend

from catalogue.models import Procedure

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["encombrants", "grof huisvuil", "bulky", "Sperrmüll"])
def test_bulky_items_are_found_in_every_language(loaded_catalogue, query):
    results = list(get_search_backend().search(query, Procedure.objects.active()))
    assert results, query
    assert results[0].code == "bulky-items"


@pytest.mark.parametrize("query, code", [
    ("casier judiciaire", "criminal-record"),
    ("gezinssamenstelling", "household-composition"),
    ("riverain", "resident-parking-card"),
    ("graffiti", "graffiti-removal"),
])
def test_other_procedures_are_found_by_their_words(loaded_catalogue, query, code):
    codes = [p.code for p in get_search_backend().search(query, Procedure.objects.active())]
    assert code in codes[:3], (query, codes)


def test_inactive_procedures_are_not_found(loaded_catalogue):
    Procedure.objects.filter(code="bulky-items").update(active=False)
    codes = [p.code for p in get_search_backend().search("encombrants",
                                                         Procedure.objects.active())]
    assert "bulky-items" not in codes
