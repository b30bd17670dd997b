from __future__ import annotations

import re

import pytest
from wagtail.models import Locale

from portal.models import HomePage, StandardPage
from portal.selectors import MAX_QUERY_LENGTH, clean_query

pytestmark = pytest.mark.django_db


def _result_links(content: bytes) -> list[str]:
    return re.findall(r'<h3 class="result-title"><a href="([^"]+)"', content.decode())


@pytest.mark.parametrize(("language", "query"), [
    ("fr", "encombrants"), ("nl", "grof huisvuil"), ("en", "bulky"), ("de", "Sperrmüll")])
def test_search_finds_the_bulky_items_procedure_in_the_visitors_language(
        client, portal_tree, language, query):
    response = client.get(f"/{language}/search/", {"q": query})
    assert response.status_code == 200
    links = _result_links(response.content)
    assert links[0] == portal_tree.bulky_pages[language].url
    # one entry per procedure, and only pages of this language
    assert links.count(portal_tree.bulky_pages[language].url) == 1
    assert all(link.startswith(f"/{language}/") for link in links)


def test_search_finds_pages_by_their_text_in_their_language_only(client, portal_tree):
    page = StandardPage.objects.get(pk=portal_tree.accessibility["fr"].pk)
    page.intro = "Le zébrure est un mot rare."
    page.save_revision().publish()
    assert _result_links(client.get("/fr/search/", {"q": "zébrure"}).content) == [page.url]
    assert _result_links(client.get("/en/search/", {"q": "zébrure"}).content) == []


MALFORMED = [
    '"', '"unterminated phrase', "'", "AND", "OR", "NOT", "bulky AND", "OR bulky", "-", "--",
    "*", "bulky*", "(", ")", "NEAR(", "a:b", "title:bulky", "^", "~", "{}", "[]", "%", "_",
    "\\", "\\\\", "' OR 1=1 --", "; DROP TABLE wagtailcore_page; --", "😀", "\u200b",
    "bulky\x00items", "\x00", "\t\n\r", "a" * 10_000, "bulky " * 3000, "<script>alert(1)</script>",
    "%00", "&&", "||", "!", "+", "\"\"\"", "é" * 500,
]


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_search_strings_give_a_results_page(client, portal_tree, query):
    response = client.get("/fr/search/", {"q": query})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<script>alert(1)</script>" not in content
    assert 'id="results-title"' in content or "Tapez un ou plusieurs mots" in content or \
        'class="empty"' in content


def test_malformed_page_numbers_fall_back_to_a_valid_page(client, portal_tree):
    for page in ["abc", "-1", "0", "99999", "1e9", "\x00"]:
        response = client.get("/en/search/", {"q": "bulky", "page": page})
        assert response.status_code == 200
        assert _result_links(response.content)


def test_search_query_is_cleaned_and_bounded():
    assert clean_query("  bulky\x00 items\n") == "bulky items"
    assert len(clean_query("x" * 10_000)) == MAX_QUERY_LENGTH
    assert clean_query("\x00\x01") == ""


def test_search_results_are_paginated(client, portal_tree):
    home = HomePage.objects.get(pk=portal_tree.homes["en"].pk)
    for n in range(13):
        home.add_child(instance=StandardPage(
            title=f"Waste sorting guide {n:02d}", locale=Locale.objects.get(language_code="en"),
            intro="How the zorbex collection works."))
    first = client.get("/en/search/", {"q": "zorbex"})
    assert len(_result_links(first.content)) == 10
    assert "13 results" in first.content.decode()
    assert 'rel="next"' in first.content.decode()
    second = client.get("/en/search/", {"q": "zorbex", "page": 2})
    assert len(_result_links(second.content)) == 3
    assert 'rel="prev"' in second.content.decode()
    assert not set(_result_links(first.content)) & set(_result_links(second.content))


def test_search_without_results_shows_an_empty_state(client, portal_tree):
    response = client.get("/en/search/", {"q": "xylophonequartz"})
    content = response.content.decode()
    assert "0 results" in content
    assert "Nothing matches your search." in content


def test_search_without_a_query_invites_to_type(client, portal_tree):
    response = client.get("/en/search/")
    assert response.status_code == 200
    assert "Type one or more words" in response.content.decode()


def test_search_refuses_post(client, portal_tree):
    assert client.post("/en/search/", {"q": "bulky"}).status_code == 405
