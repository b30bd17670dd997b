from __future__ import annotations

import re

import pytest
from django.contrib.messages import constants as message_levels  # noqa: F401
from django.core.exceptions import ValidationError
from django.core.files.images import ImageFile
from django.test import RequestFactory
from django.utils import translation
from wagtail.images.models import Image

from identity.constants import AssuranceLevel
from identity.selectors import SESSION_ASSURANCE_KEY
from portal import views
from portal.models import (
    AccessibleImageBlock,
    CallToActionBlock,
    HomePage,
    ServicePage,
)

LANGUAGES = ["fr", "nl", "en", "de"]
pytestmark = pytest.mark.django_db


def _html_lang(content: bytes) -> str:
    match = re.search(rb'<html lang="([a-z-]+)"', content)
    return match.group(1).decode() if match else ""


def _switcher(content: bytes) -> dict[str, str]:
    nav = re.search(rb'<nav class="language-switcher".*?</nav>', content, re.S).group(0).decode()
    return {code: url for url, code in
            re.findall(r'<a href="([^"]+)" hreflang="([a-z]+)"', nav)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_type_renders_in_each_language(client, portal_tree, language):
    pages = [portal_tree.homes[language], portal_tree.public_space[language],
             portal_tree.bulky_pages[language], portal_tree.accessibility[language]]
    for page in pages:
        assert page.url.startswith(f"/{language}/")
        response = client.get(page.url)
        assert response.status_code == 200, page.url
        assert _html_lang(response.content) == language
        assert page.title.encode() in response.content.replace(b"&#x27;", b"'")
    # the category lists its service page, the home page its categories and top tasks
    category = client.get(portal_tree.public_space[language].url).content.decode()
    assert portal_tree.bulky_pages[language].url in category
    home = client.get(portal_tree.homes[language].url).content.decode()
    assert portal_tree.public_space[language].url in home


def test_language_switcher_links_to_the_translation_of_the_page(client, portal_tree):
    response = client.get(portal_tree.bulky_pages["fr"].url)
    links = _switcher(response.content)
    assert links == {language: portal_tree.bulky_pages[language].url for language in LANGUAGES}
    assert re.search(rb'hreflang="fr" lang="fr" aria-current="true"', response.content)
    assert not re.search(rb'hreflang="nl" lang="nl" aria-current', response.content)


def test_language_switcher_falls_back_to_home_when_no_translation(client, portal_tree):
    portal_tree.bulky_pages["de"].unpublish()
    links = _switcher(client.get(portal_tree.bulky_pages["fr"].url).content)
    assert links["de"] == portal_tree.homes["de"].url
    assert links["nl"] == portal_tree.bulky_pages["nl"].url


def test_language_switcher_on_a_view_keeps_the_path(client, portal_tree):
    links = _switcher(client.get("/nl/search/?q=bulky").content)
    assert links["fr"] == "/fr/search/?q=bulky"
    assert links["de"] == "/de/search/?q=bulky"


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "5,00\xa0€"), ("nl", "€\xa05,00"), ("en", "€5.00"), ("de", "5,00\xa0€")])
def test_service_page_writes_fees_in_euro_the_local_way(client, portal_tree, language, expected):
    content = client.get(portal_tree.record_pages[language].url).content.decode()
    assert expected in content
    # a four-digit amount gets the language's grouping
    assert {"fr": "1\u202f234,56\xa0€", "nl": "€\xa01.234,56", "en": "€1,234.56",
            "de": "1.234,56\xa0€"}[language] in content


def test_service_page_shows_delay_channels_and_attachments(client, portal_tree):
    content = client.get(portal_tree.bulky_pages["nl"].url).content.decode()
    assert "Foto van de voorwerpen" in content
    assert "15" in content


def test_service_page_asks_anonymous_visitor_to_log_in(client, portal_tree):
    content = client.get(portal_tree.bulky_pages["en"].url).content.decode()
    assert 'href="/en/account/login/?next=/en/requests/new/bulky-items/"' in content
    assert 'class="button button--primary" href="/en/requests/new/bulky-items/"' not in content


def _login(client, level: int):
    from identity.models import User

    user = User.objects.create_user(username="citizen", email="citizen@example.org",
                                    password="x" * 16)
    client.force_login(user)
    session = client.session
    session[SESSION_ASSURANCE_KEY] = int(level)
    session.save()
    return user


def test_service_page_explains_a_too_weak_login(client, portal_tree):
    _login(client, AssuranceLevel.SUBSTANTIAL)
    content = client.get(portal_tree.record_pages["en"].url).content.decode()
    assert "Your current login is not strong enough" in content or \
        "not strong enough" in content
    assert "/en/account/login/?next=/en/requests/new/criminal-record/" in content


def test_service_page_offers_the_start_button_when_login_is_strong_enough(client, portal_tree):
    _login(client, AssuranceLevel.HIGH)
    content = client.get(portal_tree.record_pages["en"].url).content.decode()
    assert 'class="button button--primary" href="/en/requests/new/criminal-record/"' in content
    assert "not strong enough" not in content


def test_counter_only_procedure_has_no_start_button(client, portal_tree):
    content = client.get(portal_tree.counter_pages["fr"].url).content.decode()
    assert "/requests/new/digital-key-activation/" not in content


def test_procedure_link_redirects_to_the_service_page_of_the_language(client, portal_tree):
    response = client.get("/de/procedure/bulky-items/")
    assert response.status_code == 302
    assert response["Location"] == portal_tree.bulky_pages["de"].url


@pytest.mark.parametrize(("url", "title"), [
    ("/nl/bestaat-niet/", "Pagina niet gevonden"),
    ("/de/procedure/gibt-es-nicht/", "Seite nicht gefunden"),
    ("/fr/procedure/bulky-items-x/", "Page introuvable"),
    ("/en/public-space/nothing-here/", "Page not found"),
])
def test_unknown_page_or_procedure_is_a_404_in_the_visitors_language(client, portal_tree,
                                                                       url, title):
    response = client.get(url)
    assert response.status_code == 404
    assert title in response.content.decode()
    assert _html_lang(response.content) == url.split("/")[1]


def test_server_error_page_renders_without_request_context_or_database(
        django_assert_num_queries):
    request = RequestFactory().get("/nl/")
    with translation.override("nl"), django_assert_num_queries(0):
        response = views.server_error(request)
    assert response.status_code == 500
    assert "Serverfout" in response.content.decode()
    assert '<html lang="nl">' in response.content.decode()


def _png() -> ImageFile:
    import io

    from PIL import Image as PILImage
    from wagtail.models import Collection

    if Collection.get_first_root_node() is None:  # flushed by a transactional test
        Collection.add_root(name="Root")

    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return ImageFile(buffer, name="square.png")


def test_image_block_refuses_an_image_without_alternative_text(db):
    image = Image.objects.create(title="square", file=_png())
    block = AccessibleImageBlock()
    with pytest.raises(ValidationError):
        block.clean(block.to_python({"image": image.pk, "alt": "", "caption": ""}))
    assert block.clean(block.to_python({"image": image.pk, "alt": "A blue square",
                                        "caption": ""}))["alt"] == "A blue square"


def test_call_to_action_needs_a_page_or_an_address():
    block = CallToActionBlock()
    with pytest.raises(ValidationError):
        block.clean(block.to_python({"text": "Go", "page": None, "url": ""}))


def test_standard_page_renders_its_blocks_with_alt_text(client, portal_tree):
    image = Image.objects.create(title="square", file=_png())
    page = portal_tree.accessibility["en"]
    page.body = [
        ("heading", {"text": "Our commitment", "level": "h2"}),
        ("paragraph", "<p>Plain words.</p>"),
        ("image", {"image": image, "alt": "A blue square", "caption": "Logo"}),
        ("call_to_action", {"text": "Contact us", "page": None,
                            "url": "https://example.org/contact"}),
    ]
    page.save_revision().publish()
    content = client.get(page.url).content.decode()
    assert "<h2>Our commitment</h2>" in content
    assert "Plain words." in content
    assert re.search(r'<img[^>]+alt="A blue square"', content)
    assert 'href="https://example.org/contact"' in content


def test_home_page_lists_top_tasks_with_their_service_pages(client, portal_tree):
    home = HomePage.objects.get(pk=portal_tree.homes["en"].pk)
    assert [t.procedure.code for t in home.top_tasks.all()] == ["criminal-record", "bulky-items"]
    content = client.get(home.url).content.decode()
    assert portal_tree.bulky_pages["en"].url in content
    assert "€5.00" in content


def test_layout_has_landmarks_skip_link_and_labelled_search(client, portal_tree):
    content = client.get(portal_tree.homes["fr"].url).content.decode()
    assert '<a class="skip-link" href="#main">' in content
    assert '<main id="main"' in content and "<header" in content and "<footer" in content
    for input_id in re.findall(r'<input[^>]+id="([^"]+)"', content):
        assert f'<label for="{input_id}">' in content
    assert portal_tree.accessibility["fr"].url in content


def test_remembered_route_and_fragments_follow_unpublishing_at_once(client, portal_tree):
    url = portal_tree.bulky_pages["en"].url
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # served from the remembered route
    ServicePage.objects.get(pk=portal_tree.bulky_pages["en"].pk).unpublish()
    assert client.get(url).status_code == 404
    home = client.get(portal_tree.homes["en"].url).content.decode()
    assert f'href="{url}"' not in home


def test_shared_header_fragments_stay_per_page(client, portal_tree):
    first = _switcher(client.get(portal_tree.bulky_pages["fr"].url).content)
    second = _switcher(client.get(portal_tree.record_pages["fr"].url).content)
    assert first["nl"] == portal_tree.bulky_pages["nl"].url
    assert second["nl"] == portal_tree.record_pages["nl"].url
    again = client.get(portal_tree.record_pages["fr"].url).content.decode()
    assert f'/fr/account/login/?next={portal_tree.record_pages["fr"].url}' in again.replace(
        "%2F", "/")
