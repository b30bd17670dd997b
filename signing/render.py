"""Rendering of issued documents to PDF (reportlab), one layout per document template.

Input is a plain `RenderInput` (built from the case and the register by signing.services), so
rendering never touches the database and the benchmark can time it alone.

PDF/A-2b: every font is an embedded TrueType font (DejaVu Sans, or the Bitstream Vera that
reportlab ships), text the fonts cannot draw is reduced to letters they can (`printable`),
colours are RGB under an sRGB output intent, and XMP metadata matches the Info dictionary
(signing.pdfa). No transparency, no JavaScript, no external references. Texts are English msgids translated through the signing
catalogue, rendered under `translation.override(language)`, so each template exists in
fr/nl/en/de.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
import reportlab
from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from signing import pdfa
from signing.constants import DocumentTemplate

FONT = "GuichetSans"
FONT_BOLD = "GuichetSans-Bold"
CITY_BLUE = colors.Color(0 / 255, 61 / 255, 125 / 255)  # sRGB
GREY = colors.Color(0.35, 0.35, 0.35)

# DejaVu Sans (a Vera derivative covering every Latin alphabet of the register's names:
# Polish, Romanian, Czech, Hungarian...) when the system has it (Debian's fonts-dejavu-core),
# else the Bitstream Vera that reportlab ships, which lacks a few of those letters.
_FONT_FILES = (
    (Path("/usr/share/fonts/truetype/dejavu"), "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    (Path(reportlab.__file__).parent / "fonts", "Vera.ttf", "VeraBd.ttf"),
)
_font_lock = threading.Lock()
_font_chars: frozenset[int] = frozenset()


def _register_fonts() -> None:
    """Register the two embedded TrueType fonts, once per process."""
    global _font_chars
    if _font_chars:
        return
    with _font_lock:
        if _font_chars:
            return
        folder, regular, bold = next(
            (f for f in _FONT_FILES if (f[0] / f[1]).exists() and (f[0] / f[2]).exists()),
            _FONT_FILES[-1])
        fonts = [TTFont(FONT, str(folder / regular)), TTFont(FONT_BOLD, str(folder / bold))]
        for font in fonts:
            pdfmetrics.registerFont(font)
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT,
                                      boldItalic=FONT_BOLD)
        _font_chars = frozenset(fonts[0].face.charToGlyph) & frozenset(
            fonts[1].face.charToGlyph)


def printable(text: str) -> str:
    """`text` with every character the fonts lack replaced by its base letter (or "?").

    A character without a glyph would be drawn as .notdef: an empty box on paper, and a
    PDF/A violation (ISO 19005-2, 6.2.11.8). Whitespace is left to reportlab."""
    _register_fonts()
    if all(ord(ch) in _font_chars or ch.isspace() for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) in _font_chars or ch.isspace():
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if ord(c) in _font_chars and not unicodedata.combining(c))
        out.append(base or "?")
    return "".join(out)


# --- input -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonFacts:
    full_name: str
    number: str  # formatted national / BIS number
    birth_date: date
    birth_place: str = ""
    gender: str = ""  # translated label
    nationality: str = ""
    civil_state: str = ""  # translated label
    address: str = ""
    is_household_head: bool = False
    deceased: bool = False


@dataclass(frozen=True)
class AddressPeriod:
    address: str
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class RenderInput:
    template: str
    language: str
    procedure_code: str
    procedure_name: str
    case_reference: str
    issued_at: datetime
    verification_code: str
    verify_url: str
    person: PersonFacts
    household: Sequence[PersonFacts] = ()
    # None: the register keeps no history of addresses for this person.
    address_history: Sequence[AddressPeriod] | None = None
    data_rows: Sequence[tuple[str, str]] = ()  # the request's form answers, labelled
    valid_from: date | None = None
    valid_until: date | None = None
    department: str = ""
    purpose: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- helpers ---------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=14.5, alignment=TA_LEFT)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=17,
                                leading=22, textColor=CITY_BLUE, spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=12, leading=16,
                             spaceBefore=4 * mm, spaceAfter=2 * mm, textColor=CITY_BLUE),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11,
                                textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12.5),
        "cellb": ParagraphStyle("cellb", parent=base, fontName=FONT_BOLD, fontSize=9.5,
                                leading=12.5),
    }


def _d(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return formats.date_format(value, "DATE_FORMAT")


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(printable(str(text))), style)


def _facts_table(rows: Sequence[tuple[str, str]], st: dict[str, ParagraphStyle]) -> Table:
    data = [[_p(label, st["cellb"]), _p(value, st["cell"])] for label, value in rows if value]
    table = Table(data, colWidths=[55 * mm, 115 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 0), (-1, -1), FONT),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.Color(0.8, 0.8, 0.8)),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
          st: dict[str, ParagraphStyle]) -> Table:
    data = [[_p(h, st["cellb"]) for h in header]]
    data += [[_p(c, st["cell"]) for c in row] for row in rows]
    table = Table(data, colWidths=list(widths), hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.93, 0.97)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.Color(0.75, 0.75, 0.75)),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _identity_rows(person: PersonFacts) -> list[tuple[str, str]]:
    return [
        (_("Name"), person.full_name),
        (_("Register number"), person.number),
        (_("Date of birth"), _d(person.birth_date)),
        (_("Place of birth"), person.birth_place),
        (_("Gender"), person.gender),
        (_("Nationality"), person.nationality),
        (_("Civil state"), person.civil_state),
        (_("Address"), person.address),
    ]


def _certify(text: str, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    return [Spacer(1, 2 * mm), _p(text, st["body"]), Spacer(1, 3 * mm)]


def _purpose(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not inp.purpose:
        return []
    return [_p(_("Issued for: %(purpose)s") % {"purpose": inp.purpose}, st["body"])]


def _answers(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not inp.data_rows:
        return []
    return [_p(_("Details of the request"), st["h2"]), _facts_table(inp.data_rows, st)]


# --- one body per template ---------------------------------------------------------------

Body = Callable[[RenderInput, dict[str, ParagraphStyle]], list[Flowable]]


def _household(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "The Registrar of the City of Brussels certifies, on the basis of the population "
        "register, that the household of the person named below is composed as follows on "
        "%(date)s.") % {"date": _d(inp.issued_at)}, st)
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    out.append(_p(_("Members of the household"), st["h2"]))
    members = inp.household or (inp.person,)
    rows = [[m.full_name, _d(m.birth_date), m.number,
             _("head of household") if m.is_household_head else ""] for m in members]
    out.append(_grid([_("Name"), _("Date of birth"), _("Register number"), _("Role")], rows,
                     [62 * mm, 34 * mm, 40 * mm, 34 * mm], st))
    return out + _purpose(inp, st)


def _residence(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "The Registrar of the City of Brussels certifies, on the basis of the population "
        "register, that the person named below has their main residence at the address "
        "below on %(date)s.") % {"date": _d(inp.issued_at)}, st)
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    return out + _purpose(inp, st)


def _residence_history(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _residence(inp, st)
    out.append(_p(_("Address history"), st["h2"]))
    if inp.address_history:
        rows = [[p.address, _d(p.since), _d(p.until) or _("to date")]
                for p in inp.address_history]
        out.append(_grid([_("Address"), _("From"), _("Until")], rows,
                         [100 * mm, 35 * mm, 35 * mm], st))
    else:
        out.append(_p(_("The register records no earlier address for this person; the "
                        "current address is the only one known."), st["body"]))
    return out


# What each population certificate attests, by procedure code (the catalogue's codes).
_POPULATION_STATEMENTS: dict[str, Callable[[RenderInput], str]] = {}


def _population_statement(inp: RenderInput) -> str:
    code = inp.procedure_code
    if "life" in code or "vie" in code:
        return _("certifies that the person named below is alive on %(date)s, according to "
                 "the population register.")
    if "nationality" in code or "nationalite" in code:
        return _("certifies that the person named below holds Belgian nationality, according "
                 "to the population register, on %(date)s.")
    if "voter" in code or "electeur" in code:
        return _("certifies that the person named below is registered as a Belgian voter in "
                 "the City of Brussels on %(date)s.")
    if "cohabitation" in code:
        return _("certifies the civil state of the person named below (legal cohabitation), "
                 "according to the population register, on %(date)s.")
    if "marri" in code or "mariage" in code:
        return _("certifies, for the purpose of a marriage, the identity, nationality, civil "
                 "state and residence of the person named below on %(date)s.")
    if "burial" in code or "sepulture" in code or "rite" in code:
        return _("certifies the last wishes regarding the mode of burial and/or rite that the "
                 "person named below has recorded in the population register, on %(date)s.")
    return _("certifies that the information below is an extract of the population register "
             "on %(date)s.")


def _population(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    lead = _("The Registrar of the City of Brussels")
    out = _certify(f"{lead} {_population_statement(inp) % {'date': _d(inp.issued_at)}}", st)
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    return out + _answers(inp, st) + _purpose(inp, st)


def _civil_status(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "The Registrar of Civil Status of the City of Brussels delivers this extract of a "
        "civil status record, kept in the civil status database, on %(date)s.")
        % {"date": _d(inp.issued_at)}, st)
    out += [_p(_("Record"), st["h2"]), _facts_table([(_("Kind of record"), inp.procedure_name)],
                                                     st)]
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    return out + _answers(inp, st) + _purpose(inp, st)


def _criminal_record(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "Extract from the Central Criminal Record, delivered by the City of Brussels under "
        "articles 595 and 596 of the Code of Criminal Procedure, on %(date)s.")
        % {"date": _d(inp.issued_at)}, st)
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    out.append(_p(_("Entries"), st["h2"]))
    entries = inp.extra.get("entries") or []
    if entries:
        out.append(_grid([_("Date"), _("Decision")], [[e[0], e[1]] for e in entries],
                         [35 * mm, 135 * mm], st))
    else:
        out.append(_p(_("No entry."), st["body"]))
    return out + _answers(inp, st) + _purpose(inp, st)


def _permit(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "The Board of Mayor and Aldermen of the City of Brussels grants the permit described "
        "below to its holder, under the conditions of the applicable regulations.") , st)
    out += [_p(_("Holder"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    out += [_p(_("Validity"), st["h2"]), _facts_table([
        (_("Permit"), inp.procedure_name),
        (_("Valid from"), _d(inp.valid_from)),
        (_("Valid until"), _d(inp.valid_until)),
    ], st)]
    out += _answers(inp, st)
    out.append(Spacer(1, 3 * mm))
    out.append(_p(_("This permit must be shown on request of the police or a city officer. "
                    "It is personal and cannot be transferred."), st["small"]))
    return out


def _parental_authorisation(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_(
        "The City of Brussels certifies the identity of the parent named below, who "
        "authorises the minor described in the details below under the conditions stated "
        "there. The parent signs this document electronically."), st)
    out += [_p(_("Parent"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    out += [_p(_("Validity"), st["h2"]), _facts_table([
        (_("Valid from"), _d(inp.valid_from)),
        (_("Valid until"), _d(inp.valid_until)),
    ], st)]
    return out + _answers(inp, st)


def _generic(inp: RenderInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out = _certify(_("The City of Brussels delivers this document on %(date)s.")
                   % {"date": _d(inp.issued_at)}, st)
    out += [_p(_("Person concerned"), st["h2"]), _facts_table(_identity_rows(inp.person), st)]
    return out + _answers(inp, st) + _purpose(inp, st)


BODIES: dict[str, Body] = {
    DocumentTemplate.HOUSEHOLD_COMPOSITION: _household,
    DocumentTemplate.RESIDENCE: _residence,
    DocumentTemplate.RESIDENCE_HISTORY: _residence_history,
    DocumentTemplate.POPULATION: _population,
    DocumentTemplate.CIVIL_STATUS: _civil_status,
    DocumentTemplate.CRIMINAL_RECORD: _criminal_record,
    DocumentTemplate.PERMIT: _permit,
    DocumentTemplate.PARENTAL_AUTHORISATION: _parental_authorisation,
    DocumentTemplate.GENERIC: _generic,
}


# --- page frame: header, footer with the code and the QR ---------------------------------


class _Frame:
    def __init__(self, inp: RenderInput) -> None:
        self.inp = inp
        self.city = _("City of Brussels")
        self.department = inp.department
        self.code_line = _("Verification code: %(code)s") % {"code": inp.verification_code}
        self.verify_line = _("Check this document at %(url)s or scan the QR code.") % {
            "url": inp.verify_url.split("?")[0]}
        self.sealed_line = _("This document is sealed electronically by the City of Brussels. "
                             "A printed copy has the same value when its code checks out.")
        self.ref_line = _("Reference: %(ref)s · Issued on %(date)s") % {
            "ref": inp.case_reference, "date": _d(inp.issued_at)}
        self.page_label = _("Page %(n)s")
        for name in ("city", "department", "code_line", "verify_line", "sealed_line",
                     "ref_line", "page_label"):
            setattr(self, name, printable(getattr(self, name)))
        # The QR code drawn as vector rectangles from the `qrcode` library's matrix
        # (reportlab's graphics renderer would reference a non-embedded Helvetica).
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(inp.verify_url)
        code.make(fit=True)
        self.qr_matrix = code.get_matrix()

    def __call__(self, canvas: Any, doc: Any) -> None:
        width, height = A4
        canvas.saveState()
        # Header band: the city's name and the issuing department.
        canvas.setFillColor(CITY_BLUE)
        canvas.rect(0, height - 24 * mm, width, 24 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(FONT_BOLD, 16)
        canvas.drawString(18 * mm, height - 13 * mm, self.city)
        canvas.setFont(FONT, 9.5)
        if self.department:
            canvas.drawString(18 * mm, height - 19 * mm, self.department)
        canvas.drawRightString(width - 18 * mm, height - 13 * mm, self.ref_line)
        # Footer: verification code, QR code, seal notice.
        canvas.setFillColor(colors.black)
        canvas.setStrokeColor(colors.Color(0.8, 0.8, 0.8))
        canvas.line(18 * mm, 36 * mm, width - 18 * mm, 36 * mm)
        self._draw_qr(canvas, x=width - 18 * mm - 26 * mm, y=7 * mm, size=26 * mm)
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(18 * mm, 29 * mm, self.code_line)
        canvas.setFont(FONT, 8)
        canvas.drawString(18 * mm, 24 * mm, self.verify_line)
        text = canvas.beginText(18 * mm, 19 * mm)
        text.setFont(FONT, 7.5)
        text.setLeading(9.5)
        for line in _wrap(self.sealed_line, 105):
            text.textLine(line)
        canvas.drawText(text)
        canvas.drawString(18 * mm, 8 * mm, self.page_label % {"n": doc.page})
        canvas.restoreState()


    def _draw_qr(self, canvas: Any, *, x: float, y: float, size: float) -> None:
        modules = len(self.qr_matrix)
        cell = size / modules
        canvas.setFillColor(colors.black)
        for row, line in enumerate(self.qr_matrix):
            top = y + size - (row + 1) * cell
            col = 0
            while col < modules:
                if line[col]:
                    start = col
                    while col < modules and line[col]:
                        col += 1
                    canvas.rect(x + start * cell, top, (col - start) * cell, cell, stroke=0,
                                fill=1)
                else:
                    col += 1


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def render_document(inp: RenderInput) -> bytes:
    """The unsealed PDF of a document, in the input's language."""
    _register_fonts()
    body = BODIES.get(inp.template, _generic)
    with translation.override(inp.language):
        st = _styles()
        frame = _Frame(inp)
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
            topMargin=32 * mm, bottomMargin=42 * mm,
            title=f"{inp.procedure_name} - {inp.case_reference}",
            author=frame.city, subject=frame.code_line,
            creator="Guichet", producer=pdfa.PRODUCER,
            keywords=[inp.verification_code, inp.case_reference, inp.procedure_code],
            lang=inp.language, invariant=False, initialFontName=FONT, initialFontSize=10,
        )
        story: list[Flowable] = [_p(inp.procedure_name, st["title"])]
        story += body(inp, st)
        story += [Spacer(1, 8 * mm),
                  _p(_("Brussels, %(date)s") % {"date": _d(inp.issued_at)}, st["body"]),
                  _p(_("For the Mayor and Aldermen, the electronic seal of the City of "
                       "Brussels."), st["small"])]
        doc.build(story, onFirstPage=frame, onLaterPages=frame,
                  canvasmaker=pdfa.canvas_maker(created=inp.issued_at, language=inp.language))
    return buffer.getvalue()
