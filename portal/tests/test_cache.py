from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from identity.models import User
from portal import cache as page_cache
from portal.models import ServicePage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_cache_on")]


@pytest.fixture
def _cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 300


def test_anonymous_page_is_served_from_the_cache_without_queries(
        client, portal_tree, django_assert_num_queries):
    url = portal_tree.bulky_pages["fr"].url
    first = client.get(url)
    assert first.status_code == 200
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


def test_cache_key_includes_language_and_full_path(client, portal_tree):
    client.get(portal_tree.homes["fr"].url)
    assert client.get(portal_tree.homes["nl"].url)["X-Page-Cache"] == "miss"
    assert client.get(portal_tree.homes["fr"].url + "?x=1")["X-Page-Cache"] == "miss"
    assert client.get(portal_tree.homes["fr"].url)["X-Page-Cache"] == "hit"


def test_publishing_a_page_purges_the_cache(client, portal_tree):
    url = portal_tree.bulky_pages["en"].url
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    page = ServicePage.objects.get(pk=portal_tree.bulky_pages["en"].pk)
    page.title = "Bulky waste pick-up"
    page.save_revision().publish()
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "Bulky waste pick-up" in response.content.decode()


def test_unpublishing_a_page_purges_the_cache_of_other_pages_too(client, portal_tree):
    home_url = portal_tree.homes["en"].url
    category = portal_tree.public_space["en"]
    link = f'href="{category.url}"'
    assert link in client.get(home_url).content.decode()
    category.unpublish()
    response = client.get(home_url)
    assert response["X-Page-Cache"] == "miss"
    assert link not in response.content.decode()


def test_changing_a_procedure_purges_its_pages(client, portal_tree):
    url = portal_tree.record_pages["en"].url
    assert "€5.00" in client.get(url).content.decode()
    portal_tree.record.fee_web = 900
    portal_tree.record.save()
    assert "€9.00" in client.get(url).content.decode()


def test_logged_in_visitors_never_use_the_cache(client, portal_tree):
    url = portal_tree.bulky_pages["fr"].url
    client.get(url)  # cached for anonymous visitors
    user = User.objects.create_user(username="citizen", email="c@example.org",
                                    password="x" * 16)
    client.force_login(user)
    response = client.get(url)
    assert "X-Page-Cache" not in response
    assert response.status_code == 200
    assert 'action="/fr/account/logout/"' in response.content.decode()
    client.logout()
    # what the logged-in visitor saw was not stored for anonymous visitors
    anonymous = client.get(url)
    assert anonymous["X-Page-Cache"] == "hit"
    assert "/fr/account/logout/" not in anonymous.content.decode()


def test_visitors_with_pending_messages_get_a_fresh_page(rf, portal_tree):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    request = rf.get(portal_tree.homes["fr"].url)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert page_cache.is_cacheable_request(request)
    request._messages.add(20, "Votre demande a été envoyée.")
    assert not page_cache.is_cacheable_request(request)
    calls = []
    page_cache.serve_cached(request, lambda: calls.append(1) or HttpResponse("x"))
    page_cache.serve_cached(request, lambda: calls.append(1) or HttpResponse("x"))
    assert calls == [1, 1]
    # reading the storage length did not consume the message
    assert [str(m) for m in get_messages(request)] == ["Votre demande a été envoyée."]


def test_cache_off_when_seconds_is_zero(client, portal_tree):
    with override_settings(PAGE_CACHE_SECONDS=0):
        url = portal_tree.homes["fr"].url
        client.get(url)
        assert "X-Page-Cache" not in client.get(url)


def test_error_pages_are_not_cached(client, portal_tree):
    assert client.get("/fr/nothing-here/").status_code == 404
    assert "X-Page-Cache" not in client.get("/fr/nothing-here/")
