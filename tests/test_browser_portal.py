"""The portal in a real headless Chromium: find a procedure, open it, change language, and
check what a screen-reader user and a phone user depend on."""

from __future__ import annotations

import re

import pytest

from portal.tests.factories import build_portal_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every image has a text alternative (alt="" is a deliberate decorative image), every form
# field a label: its <label>, aria-label or aria-labelledby.
A11Y_PROBLEMS_JS = """
() => {
  const problems = [];
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('img without alt: ' + img.src);
  }
  const fields = document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea');
  for (const field of fields) {
    const labelled = (field.labels && field.labels.length > 0)
      || field.getAttribute('aria-label') || field.getAttribute('aria-labelledby');
    if (!labelled) problems.push('field without label: ' + (field.name || field.id));
  }
  if (!document.documentElement.lang) problems.push('html without lang');
  if (!document.querySelector('main')) problems.push('no main landmark');
  if (!document.querySelector('h1')) problems.push('no h1');
  return problems;
}
"""


def _check_page(page) -> None:
    assert page.evaluate(A11Y_PROBLEMS_JS) == []
    assert page.console_errors == []


def test_citizen_finds_a_procedure_opens_it_and_switches_language(page, live_server):
    tree = build_portal_tree()
    assert tree["pages"]["bulky"]["fr"]

    page.goto(f"{live_server.url}/fr/")
    assert page.locator("html").get_attribute("lang") == "fr"
    _check_page(page)

    # search from the home page's own search box, found by its label
    page.get_by_label("Que cherchez-vous ?").fill("encombrants")
    page.get_by_label("Que cherchez-vous ?").press("Enter")
    page.wait_for_url(re.compile(r"/fr/search/\?q=encombrants"))
    _check_page(page)
    first = page.locator(".result-title a").first
    assert first.inner_text() == "Enlèvement d'encombrants à domicile"

    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Enlèvement d'encombrants à domicile"
    assert "Gratuit" in page.locator(".service-facts").inner_text()
    _check_page(page)

    # the language switcher keeps us on the same service, now in Dutch
    page.locator('.language-switcher a[hreflang="nl"]').click()
    page.wait_for_url(re.compile(r"/nl/"))
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.locator("h1").inner_text() == "Ophaling van grofvuil aan huis"
    assert page.locator('.language-switcher a[aria-current="true"]').get_attribute(
        "hreflang") == "nl"
    _check_page(page)


def test_skip_link_and_focus_are_visible_and_the_layout_fits_a_phone(page, live_server):
    build_portal_tree()
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}/en/")
    # no horizontal scrolling at 360 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # the first Tab reaches the skip link, which becomes visible and moves focus to <main>
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    _check_page(page)
