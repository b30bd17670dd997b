"""PDF/A-2b shaping of the documents reportlab renders (reportlab has no PDF/A mode).

What ISO 19005-2 level B asks of our documents, and where it is done:

- every font embedded: signing.render registers TrueType fonts only and starts the canvas on
  one of them, so no base-14 font is ever referenced;
- device colours only with an output intent: `PdfACanvas` forces RGB colours and adds an
  sRGB OutputIntent whose ICC profile littleCMS builds (through Pillow) on first use, so no
  profile file is shipped;
- XMP metadata (unfiltered) claiming pdfaid:part=2, conformance=B, equivalent to the Info
  dictionary: both are written from the same values by `PdfAInfo` and `XmpStream`;
- an end-of-line marker before every `endstream` (ISO 19005-2, 6.1.7.1), which reportlab
  leaves out: `PdfACanvas` has its streams add it, outside the counted /Length;
- a document ID in the trailer (reportlab always writes one), no encryption, no JavaScript,
  no external references, no transparency groups.

The seal keeps the file conformant: pyHanko's incremental update re-reads this XMP packet,
keeps every property in it (pdfaid included) and rewrites xmp:ModifyDate and pdf:Producer
together with the Info dictionary's /Producer. The Info dictionary deliberately has no
/ModDate and no /Producer: pyHanko would set /ModDate from a second clock reading (the
two could straddle a second boundary), and it appends its own name to an existing /Producer
while writing only its own name to pdf:Producer, which would make Info and XMP disagree.
Absent, they are only ever in XMP, or written by pyHanko identically to both.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFInfo,
    PDFName,
    PDFStream,
    PDFString,
)
from reportlab.pdfbase.pdfdoc import format as pdf_format
from reportlab.pdfgen.canvas import Canvas

PDFA_PART = 2
PDFA_CONFORMANCE = "B"
SRGB_CONDITION = "sRGB IEC61966-2.1"
PRODUCER = "Guichet (reportlab)"
_XPACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # the fixed id every XMP packet carries


@functools.cache
def srgb_icc_profile() -> bytes:
    """An sRGB ICC profile (littleCMS's built-in one, version 4, monitor class, RGB)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def pdf_date(value: dt.datetime) -> str:
    """D:YYYYMMDDHHmmSS+HH'mm' (the offset of `value`, which must be aware)."""
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"D:{value:%Y%m%d%H%M%S}{sign}{hours:02d}'{mins:02d}'"


def xmp_date(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat()


class PdfAInfo(PDFInfo):
    """The Info dictionary: only entries that have an XMP equivalent written alongside."""

    def __init__(self, created: dt.datetime, language: str) -> None:
        super().__init__()
        self.created = created.replace(microsecond=0)
        self.language = language

    def format(self, document: Any) -> bytes:
        entries = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "Subject": PDFString(self.subject),
            "Keywords": PDFString(self.keywords),
            "Creator": PDFString(self.creator),
            "CreationDate": PDFString(pdf_date(self.created)),
        }
        return PDFDictionary(entries).format(document)

    def xmp(self) -> bytes:
        """The XMP packet saying the same as `format` (and the PDF/A identification)."""
        def text(value: str) -> str:
            return escape(str(value))

        created = xmp_date(self.created)
        packet = f"""<?xpacket begin="\ufeff" id="{_XPACKET_ID}"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>{PDFA_PART}</pdfaid:part>
<pdfaid:conformance>{PDFA_CONFORMANCE}</pdfaid:conformance>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{text(self.title)}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{text(self.author)}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text(self.subject)}</rdf:li></rdf:Alt></dc:description>
<dc:language><rdf:Bag><rdf:li>{text(self.language)}</rdf:li></rdf:Bag></dc:language>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdf:Keywords>{text(self.keywords)}</pdf:Keywords>
<pdf:Producer>{text(PRODUCER)}</pdf:Producer>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<xmp:CreatorTool>{text(self.creator)}</xmp:CreatorTool>
<xmp:CreateDate>{created}</xmp:CreateDate>
<xmp:ModifyDate>{created}</xmp:ModifyDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""
        return packet.encode("utf-8")


_ENDSTREAM = b"endstream\n"


class EolStream(PDFStream):
    """A reportlab stream that ends its data with an end-of-line marker before `endstream`
    (reportlab writes `...dataendstream`). /Length still counts the data only."""

    def format(self, document: Any) -> bytes:
        out = super().format(document)
        return out[:-len(_ENDSTREAM)] + b"\n" + _ENDSTREAM


class _EolStreamObjects(dict):
    """reportlab's table of the document's objects (`PDFDocument.idToObject`): a stream is
    handed out as an `EolStream` when it is written, including streams created while the
    file is being written (fonts, page contents)."""

    def __getitem__(self, key: Any) -> Any:
        obj = super().__getitem__(key)
        if type(obj) is PDFStream:
            obj.__class__ = EolStream
        return obj


class XmpStream(PDFStream):
    """The catalog's /Metadata: built when the file is written, from the final Info values
    (reportlab sets title, author... after the canvas exists). Never filtered (PDF/A)."""

    def __init__(self, info: PdfAInfo) -> None:
        super().__init__(PDFDictionary({"Type": PDFName("Metadata"),
                                        "Subtype": PDFName("XML")}), b"")
        self.info = info

    def format(self, document: Any) -> bytes:
        content = document.encrypt.encode(self.info.xmp())
        dictionary = PDFDictionary({**self.dictionary.dict, "Length": len(content)})
        return (pdf_format(dictionary, document) + b"\nstream\n" + content + b"\n"
                + _ENDSTREAM)


class PdfACanvas(Canvas):
    """A reportlab canvas whose file is PDF/A-2b-shaped: XMP, sRGB output intent, RGB
    colours only, Info limited to what XMP repeats. Use as a document template's
    canvasmaker through `canvas_maker`."""

    def __init__(self, *args: Any, created: dt.datetime, language: str, **kwargs: Any):
        kwargs["enforceColorSpace"] = "rgb"
        super().__init__(*args, **kwargs)
        document = self._doc
        document.idToObject = _EolStreamObjects(document.idToObject)
        info = PdfAInfo(created, language)
        info.producer = PRODUCER
        document.info = info
        catalog = document.Catalog
        catalog.Metadata = XmpStream(info)
        profile = PDFStream(PDFDictionary({"N": 3}), srgb_icc_profile())
        catalog.OutputIntents = PDFArray([PDFDictionary({
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString(SRGB_CONDITION),
            "RegistryName": PDFString("http://www.color.org"),
            "Info": PDFString(SRGB_CONDITION),
            "DestOutputProfile": document.Reference(profile),
        })])
        # reportlab writes only the catalog keys it knows; OutputIntents is not one of them.
        catalog.__NoDefault__ = [*type(catalog).__NoDefault__, "OutputIntents"]


def canvas_maker(*, created: dt.datetime, language: str) -> Any:
    return functools.partial(PdfACanvas, created=created, language=language)
