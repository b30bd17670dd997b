"""The public verification page in a real headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import pytest

from signing import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_checks_a_code_and_the_answer_gets_the_focus(
        live_server, page, seal_pkcs12, approved_case):
    document = services.document_issue(case=approved_case("household-composition"))
    page.goto(f"{live_server.url}/fr/verify/")
    page.get_by_role("textbox", name="Code de vérification").fill(
        services.format_code(document.verification_code).lower())
    page.get_by_role("button", name="Vérifier le code").click()
    result = page.locator("#verify-result")
    result.wait_for()
    assert result.get_attribute("data-result") == "authentic"
    assert "Document authentique" in result.inner_text()
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "verify-result"
    # A wrong code: a clear answer, announced as an alert.
    page.get_by_role("textbox", name="Code de vérification").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    page.get_by_role("button", name="Vérifier le code").click()
    page.wait_for_selector('[data-result="unknown_code"]')
    assert page.locator("#verify-result").get_attribute("role") == "alert"
    assert page.console_errors == []


def test_a_visitor_uploads_a_pdf(live_server, page, seal_pkcs12, approved_case, tmp_path):
    document = services.document_issue(case=approved_case("life"))
    path = tmp_path / "certificat.pdf"
    path.write_bytes(document.file.read())
    page.goto(f"{live_server.url}/nl/verify/")
    page.get_by_label("Pdf-document").set_input_files(str(path))
    page.get_by_role("button", name="Het bestand controleren").click()
    page.wait_for_selector('[data-result="authentic"]')
    assert "Echt document" in page.locator("#verify-result").inner_text()
