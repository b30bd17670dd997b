"""The documents are PDF/A-2b-shaped before and after the seal.

These tests read the file structure with pyHanko's reader and check the points of ISO 19005-2
that our documents can get wrong: the sRGB output intent with its ICC profile, the XMP packet
(unfiltered, pdfaid part 2 / conformance B, equivalent to the Info dictionary), embedded
fonts, the trailer ID, no encryption and no JavaScript; and that the seal pyHanko adds keeps
all of it while still validating. They are not a full conformance check: veraPDF (a Java
program) cannot run on this machine or in CI, so nothing here replaces a veraPDF report.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone

from signing import backends, pdf_seal, render
from signing.constants import DocumentTemplate
from signing.render import PersonFacts, RenderInput, printable, render_document

OPTIONS = pdf_seal.SealOptions(reason="Test seal", location="Bruxelles")
XMP_NS = {
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
}


def _input(template: str = DocumentTemplate.HOUSEHOLD_COMPOSITION, language: str = "fr",
           name: str = "Marie Dupont") -> RenderInput:
    person = PersonFacts(full_name=name, number="85.07.30-033.28",
                         birth_date=dt.date(1985, 7, 30), address="Rue de la Loi 16")
    return RenderInput(
        template=template, language=language, procedure_code="household-composition",
        procedure_name="Composition de ménage", case_reference="BXL-2026-000042",
        issued_at=timezone.localtime(), verification_code="ABCD-EFGH-IJKL-MNOP-QRST",
        verify_url="http://testserver/fr/verify/?code=ABCDEFGHIJKLMNOPQRST",
        person=person, household=[person], valid_from=dt.date(2026, 1, 1),
        valid_until=dt.date(2026, 12, 31), data_rows=[("But", "employeur")])


def _reader(pdf: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(pdf))


def _xmp_fields(reader) -> dict[tuple[str, str], object]:
    """The XMP properties of the latest revision, by (prefix, name), simple values as
    strings and arrays as lists of strings."""
    from pyhanko.pdf_utils.metadata import model, xmp_xml

    stream = reader.root["/Metadata"]
    fields: dict[tuple[str, str], object] = {}
    prefixes = {uri: prefix for prefix, uri in XMP_NS.items()}
    for root in xmp_xml.parse_xmp(io.BytesIO(stream.data)):
        for name, value in root:
            key = (prefixes.get(name.ns, name.ns), name.local_name)
            if isinstance(value.value, model.XmpArray):
                fields[key] = [entry.value for entry in value.value.entries]
            else:
                fields[key] = value.value
    return fields


def _get(dictionary, key, default=None):
    """`dictionary[key]` resolved (pyHanko's `.get` leaves indirect references as they are)."""
    value = dictionary.get_object().get(key)
    return default if value is None else value.get_object()


def _fonts(resources, seen: set[int]) -> list:
    """Every font dictionary reachable from a resource dictionary (forms included)."""
    found = []
    if resources is None:
        return found
    for font in _get(resources, "/Font", {}).values():
        font = font.get_object()
        found.append(font)
        found.extend(d.get_object() for d in _get(font, "/DescendantFonts", []))
    for ref in _get(resources, "/XObject", {}).values():
        if getattr(ref, "idnum", None) in seen:
            continue
        seen.add(getattr(ref, "idnum", None))
        xobject = ref.get_object()
        if _get(xobject, "/Subtype") == "/Form":
            found.extend(_fonts(_get(xobject, "/Resources"), seen))
    return found


def _all_fonts(reader) -> list:
    seen: set[int] = set()
    fonts = []
    for page in reader.root["/Pages"]["/Kids"]:
        fonts.extend(_fonts(_get(page, "/Resources"), seen))
        for annot in _get(page, "/Annots", []):
            appearance = _get(annot.get_object(), "/AP", {})
            if "/N" in appearance:
                fonts.extend(_fonts(_get(appearance["/N"], "/Resources"), seen))
    return fonts


def _pdf_date(value: str) -> dt.datetime:
    from pyhanko.pdf_utils.generic import parse_pdf_date

    return parse_pdf_date(value)


def _assert_pdfa_2b_shaped(pdf: bytes) -> dict[tuple[str, str], object]:
    # Header: a version and a binary comment line (four bytes above 127).
    first, second = pdf.split(b"\n", 2)[:2]
    assert first.startswith(b"%PDF-1.")
    assert second.startswith(b"%") and sum(b > 127 for b in second[1:5]) == 4
    reader = _reader(pdf)
    root = reader.root
    trailer = reader.trailer_view
    # Document ID, no encryption, no JavaScript or automatic actions.
    assert "/ID" in trailer and len(trailer["/ID"]) == 2
    assert "/Encrypt" not in trailer
    assert not {"/OpenAction", "/AA"} & set(root.keys())
    assert "/JavaScript" not in _get(root, "/Names", {})
    assert b"/JavaScript" not in pdf and b"/JS " not in pdf
    # sRGB output intent with an ICC profile stream.
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"]
    assert profile["/N"] == 3
    icc = profile.data
    assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB " and icc[12:16] == b"mntr"
    assert icc[8] < 5  # ICC version 2 or 4, as PDF 1.7 (hence PDF/A-2) allows
    assert int.from_bytes(icc[:4], "big") == len(icc)
    # XMP metadata, unfiltered, claiming PDF/A-2B.
    metadata = root["/Metadata"]
    assert metadata["/Type"] == "/Metadata" and metadata["/Subtype"] == "/XML"
    assert "/Filter" not in metadata
    fields = _xmp_fields(reader)
    assert fields[("pdfaid", "part")] == "2"
    assert fields[("pdfaid", "conformance")] == "B"
    # Every Info entry has its equal in XMP (ISO 19005-2, 6.6.2.3.1).
    info = trailer["/Info"]
    pairs = {"/Title": ("dc", "title"), "/Author": ("dc", "creator"),
             "/Subject": ("dc", "description"), "/Keywords": ("pdf", "Keywords"),
             "/Creator": ("xmp", "CreatorTool"), "/Producer": ("pdf", "Producer")}
    for key, xmp_key in pairs.items():
        if key in info:
            value = fields[xmp_key]
            assert (value[0] if isinstance(value, list) else value) == str(info[key]), key
    for key, xmp_key in {"/CreationDate": ("xmp", "CreateDate"),
                         "/ModDate": ("xmp", "ModifyDate")}.items():
        if key in info:
            assert _pdf_date(str(info[key])) == dt.datetime.fromisoformat(fields[xmp_key])
    assert "/CreationDate" in info and "/Title" in info
    # Every stream's data ends with an end-of-line marker, outside its /Length (6.1.7.1).
    for match in re.finditer(rb"endstream", pdf):
        assert pdf[match.start() - 1:match.start()] in (b"\n", b"\r"), pdf[
            match.start() - 20:match.start() + 9]
    # Every font embedded (TrueType here); never a base-14 reference.
    fonts = _all_fonts(reader)
    assert fonts
    for font in fonts:
        if font.get("/Subtype") == "/Type0":
            continue  # its descendant is checked
        descriptor = _get(font, "/FontDescriptor")
        assert descriptor is not None, font
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font
    return fields


@pytest.mark.parametrize("template", [t.value for t in DocumentTemplate])
def test_every_template_renders_pdfa_2b_shaped(template):
    _assert_pdfa_2b_shaped(render_document(_input(template, "de")))


def test_xmp_and_info_say_the_same_title_dates_and_creator():
    inp = _input(language="nl")
    fields = _assert_pdfa_2b_shaped(render_document(inp))
    assert fields[("dc", "title")] == [f"{inp.procedure_name} - {inp.case_reference}"]
    assert fields[("dc", "language")] == ["nl"]
    assert fields[("xmp", "CreatorTool")] == "Guichet"
    assert dt.datetime.fromisoformat(fields[("xmp", "CreateDate")]) == \
        inp.issued_at.replace(microsecond=0)


def test_the_sealed_document_stays_pdfa_2b_and_its_seal_validates(seal_pkcs12):
    inp = _input()
    before = timezone.now().replace(microsecond=0)
    sealed = backends.get_sealer().seal(render_document(inp), options=OPTIONS)
    fields = _assert_pdfa_2b_shaped(sealed)
    # pyHanko updated the modification date and producer in XMP and Info alike, and kept
    # the PDF/A identification and our descriptive properties.
    info = _reader(sealed).trailer_view["/Info"]
    assert fields[("pdf", "Producer")] == str(info["/Producer"])
    assert dt.datetime.fromisoformat(fields[("xmp", "ModifyDate")]) >= before
    assert fields[("dc", "title")] == [f"{inp.procedure_name} - {inp.case_reference}"]
    # The invisible seal widget is printable and not hidden (PDF/A forbids hidden ones).
    reader = _reader(sealed)
    (signature,) = reader.embedded_signatures
    widget = signature.sig_field
    flags = int(widget.get("/F", 0))
    assert flags & 4 and not flags & 2 and not flags & 1
    # No appearance stream is needed only because the widget has no area (6.3.3).
    assert "/AP" in widget or [float(x) for x in widget["/Rect"]] == [0, 0, 0, 0]
    check = pdf_seal.inspect_pdf(sealed, trust_roots=[seal_pkcs12.cert("root")])
    assert check.outcome == pdf_seal.SealOutcome.VALID


def test_the_seal_writes_the_metadata_pyhanko_would(seal_pkcs12, monkeypatch):
    """The seal updates our own XMP packet in its bytes; the result says what pyHanko's own
    update (parse, update, serialise) says, the modification instant aside."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    pdf = render_document(_input())
    sealer = backends.get_sealer()
    assert pdf_seal._SealWriter(io.BytesIO(pdf), strict=False)._own_xmp_packet()
    fast = _xmp_fields(_reader(sealer.seal(pdf, options=OPTIONS)))
    monkeypatch.setattr(pdf_seal._SealWriter, "_update_meta",
                        IncrementalPdfFileWriter._update_meta)
    slow = _xmp_fields(_reader(sealer.seal(pdf, options=OPTIONS)))
    modified = ("xmp", "ModifyDate")
    assert abs(dt.datetime.fromisoformat(fast.pop(modified))
               - dt.datetime.fromisoformat(slow.pop(modified))) < dt.timedelta(seconds=5)
    assert fast == slow


def test_a_document_sealed_before_is_not_taken_for_a_fresh_one(seal_pkcs12):
    sealed = backends.get_sealer().seal(render_document(_input()), options=OPTIONS)
    assert pdf_seal._SealWriter(io.BytesIO(sealed), strict=False)._own_xmp_packet() is None


def test_text_the_fonts_cannot_draw_is_reduced_to_letters_they_can(monkeypatch):
    from reportlab.pdfbase.ttfonts import TTFontFace

    render._register_fonts()
    # With reportlab's Vera (the fallback when DejaVu is not installed): no glyph for ą, ő.
    vera = TTFontFace(str(render._FONT_FILES[-1][0] / "Vera.ttf"))
    monkeypatch.setattr(render, "_font_chars", frozenset(vera.charToGlyph))
    assert printable("Wąsowska Erdős Łukasz") == "Wasowska Erdos Łukasz"
    # A character with no drawable base letter becomes a question mark.
    assert printable("Li 漢") == "Li ?"


def test_a_name_outside_the_fonts_renders_without_missing_glyphs():
    render._register_fonts()
    name = "Ana Țăranu 漢"
    assert all(ord(ch) in render._font_chars or ch.isspace() for ch in printable(name))
    _assert_pdfa_2b_shaped(render_document(_input(name=name)))
