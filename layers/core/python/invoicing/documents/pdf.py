"""The PDF rendering of the view-model (fpdf2, A4). Only the functions
that render import it: fpdf2 costs 200 ms to import.

The file is PDF/A-3B, the archival PDF that Factur-X requires (the XML
that facturx.py makes is embedded as the file is written, `FacturX`):
every font embedded, an sRGB output intent (fpdf2's own copy of the ICC's
sRGB2014 profile, added by `enforce_compliance`), XMP metadata. fpdf2
refuses what PDF/A forbids (core fonts, encryption).

The font is DejaVu Sans (Unicode: €, œ, Greek, Cyrillic…), embedded. It
comes from Debian's fonts-dejavu-core at build time: FONTS_DIR (a Lambda
layer puts it in /opt/fonts), else the system's copy. The layer also ships
two cuts of it (`make build`), and a document takes the smallest that has
all its characters: the Western cut (French and its neighbours, €) is
embedded whole, with no subsetting at all; the Latin cut and the whole font
are subset. The glyphs drawn are the same.

Text is wrapped by `wrapping.wrap` (linear in its length) and drawn line by
line with `text`, never with `multi_cell`, whose line breaking is quadratic
in a paragraph's length and lays each cell out twice.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from html import escape
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import fpdf.output
from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf import FPDF, FPDF_VERSION, XPos, YPos
from fpdf.enums import DocumentCompliance
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.syntax import PDFDate
from fpdf.syntax import create_dictionary_string as pdf_dict

from invoicing.documents.wrapping import Line, wrap
from invoicing.settings import settings

logger = logging.getLogger(__name__)

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# The layer's cuts of it (`make build`), smallest first: a document takes the first that has
# all its characters. The Western cut (Windows-1252's repertoire, 230 glyphs, 17 KB) is embedded
# whole; the Latin cut (Latin Extended A and B, 680 glyphs) and the whole font are subset, at a
# cost that follows what they hold, not what the document uses.
WESTERN_FILES = {"": "DejaVuSans-Western.ttf", "B": "DejaVuSans-Bold-Western.ttf"}
LATIN_FILES = {"": "DejaVuSans-Latin.ttf", "B": "DejaVuSans-Bold-Latin.ttf"}
CUTS = (WESTERN_FILES, LATIN_FILES)
EMBEDDED_WHOLE = frozenset(WESTERN_FILES.values())
FONT_DIRS = ("/opt/fonts", "/usr/share/fonts/truetype/dejavu")
MARGIN = 12
LOGO_HEIGHT, LOGO_WIDTH = 16, 60
LOGO_MAX_PIXELS = 4000  # per side, as the upload checks it (a JPEG's size is only known here)
LINE_HEIGHT = 4.6
# description, quantity, unit, unit price, discount, VAT, net: 186 mm across A4
COLUMNS = ((70, "L"), (14, "R"), (16, "L"), (26, "R"), (16, "R"), (16, "R"), (28, "R"))
COMPLIANCE = DocumentCompliance.PDFA_3B
LANGUAGES = {"fr": "fr-FR"}  # the view's language → the document's (RFC 3066)


def font_dir() -> Path:
    for candidate in (settings().fonts_dir, *FONT_DIRS):
        if candidate and (Path(candidate) / FONT_FILES[""]).is_file():
            return Path(candidate)
    raise FileNotFoundError("DejaVu Sans not found: install fonts-dejavu-core or set FONTS_DIR (make build does)")


@cache
def _font_template(file: str, style: str) -> tuple[TTFFont, bytes] | None:
    """The font in `file`, parsed once per process: its metrics (widths,
    glyph ids, descriptor) never change; its file, as bytes. None when the
    font directory has no such file (a cut, outside the layer)."""
    path = font_dir() / file
    if not path.is_file():
        return None
    scratch = FPDF()
    scratch.add_font(FONT, style, str(path))
    font: TTFFont = scratch.fonts[f"{FONT.lower()}{style}"]
    data = path.read_bytes()
    if file in EMBEDDED_WHOLE:
        font.ttfont = _Whole(data)
    return font, data


class _Whole(TTFont):
    """A cut of the font embedded as it is, not subset: 230 glyphs (17 KB)
    cost less to embed than to subset (8 ms a document for the two
    styles, measured). It is read once per process and shared by every
    document: nothing writes to it (fpdf2 only asks glyph ids)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(BytesIO(data), recalcTimestamp=False, recalcBBoxes=False)
        self.data = data
        self.getReverseGlyphMap()  # the glyph ids, read now: later reads share them

    def save(self, file: IO[bytes], reorderTables: bool | None = True) -> None:  # type: ignore[override]
        file.write(self.data)

    def close(self) -> None:
        """Kept open: fpdf2 closes a document's fonts once it is written, and
        this one serves every document of the process."""


class _Subsetter(ftsubset.Subsetter):  # type: ignore[misc]
    """fpdf2's subsetter (fontTools'), which leaves a font embedded whole as it is."""

    def subset(self, font: TTFont) -> None:
        if not isinstance(font, _Whole):
            super().subset(font)


# fpdf2 2.8 subsets every TrueType font it writes (fpdf/output.py, through its `ftsubset`
# name), and has no option to embed one whole: its fontTools is given our subsetter.
fpdf.output.ftsubset = SimpleNamespace(Options=ftsubset.Options, Subsetter=_Subsetter)  # type: ignore[attr-defined]


def _templates(characters: set[str]) -> list[tuple[TTFFont, bytes]]:
    """The font of each style for a document drawing `characters`: the
    smallest cut that has every one of them, else the whole font."""
    codes = {ord(char) for char in characters if char >= " "}  # a newline is no glyph
    for files in CUTS:
        cut = [_font_template(file, style) for style, file in files.items()]
        if all(found is not None and codes <= found[0].cmap.keys() for found in cut):
            return cut  # type: ignore[return-value]
    return [_font_template(file, style) for style, file in FONT_FILES.items()]  # type: ignore[misc]


def _characters(value: Any) -> set[str]:
    """Every character of the text in a view-model (its strings, at any depth)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def _fresh_font(template: TTFFont, data: bytes, number: int) -> TTFFont:
    """The font for one document: the template's metrics, shared, with
    its own font tables and subset. fpdf2 subsets the font tables in place
    when it writes a file, so no two documents may share those (sharing
    them was measured: the second document lost glyphs); reading them is
    lazy, and costs only what the subset needs. A cut embedded whole is
    never subset: its tables are the template's, shared."""
    font = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(template, slot):
            setattr(font, slot, getattr(template, slot))
    font.i = number
    font.desc = copy.copy(template.desc)  # fpdf2 writes the embedded file's ids onto it
    if not isinstance(template.ttfont, _Whole):
        # the glyphs keep their bounding boxes: recomputing them unpacks and repacks every glyph drawn
        font.ttfont = TTFont(BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    return font


@dataclass(frozen=True)
class FacturX:
    """A document's CII XML at the EN 16931 level (documents/facturx.py
    makes it and checks it), attached to its PDF/A-3 as `factur-x.xml`: an
    associated file of the document (/AF) whose relationship is /Data (the
    XML is the invoice's data, the pages show it), declared in the XMP by
    the Factur-X extension schema. `subject` is the XMP's description."""

    xml: bytes
    subject: str


FX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_FILENAME = "factur-x.xml"
# The Factur-X 1.0 XMP properties, as its specification declares them: name, value, description.
FX_PROPERTIES = (
    ("DocumentFileName", FX_FILENAME, "The name of the embedded XML document"),
    ("DocumentType", "INVOICE", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "1.0", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "EN 16931", "The conformance level of the embedded XML document"),
)


class _Document(FPDF):
    def __init__(self, view: dict[str, Any], facturx: FacturX | None = None) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance=COMPLIANCE)
        self.view = view
        self.table_header: list[str] | None = None  # repeated at the top of each page while set
        self.columns = COLUMNS  # the table's: (width, alignment), the first wrapping
        self._add_fonts()
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages("{nb}")
        title = f"{view['title']} {view['number']}" if view.get("number") else view["title"]
        lang = view.get("lang") or "fr"
        self.set_title(title)
        self.set_author(view["seller"]["name"] or "")
        self.set_creator("invoicing")
        self.set_producer(f"fpdf2 {FPDF_VERSION}")
        self.set_lang(LANGUAGES.get(lang, lang))
        if facturx is not None:
            self.set_subject(facturx.subject)
            attached = self.embed_file(
                bytes=facturx.xml, basename=FX_FILENAME, mime_type="text/xml", associated_file_relationship="Data",
                desc="Factur-X", compress=True,
            )  # fmt: skip
            # The file's parameters written here: fpdf2 2.8.9's CheckSum is the MD5 of the compressed
            # stream, where the PDF reference (7.11.4) wants the embedded file's own bytes.
            attached.params = pdf_dict({
                "/Size": len(facturx.xml),
                "/ModDate": PDFDate(self.creation_date, with_tz=True).serialize(),
                "/CheckSum": f"<{hashlib.md5(facturx.xml).hexdigest()}>",
            })  # fmt: skip
        self.set_xmp_metadata(self._xmp(facturx is not None))

    def _xmp(self, facturx: bool) -> str:
        """The XMP metadata: fpdf2 writes the same from the title, author and
        producer, but without the language (dc:language), and knows nothing
        of Factur-X's extension schema. Under PDF/A, fpdf2 writes no Info
        dictionary: these are the document's only metadata."""
        when = self.creation_date.isoformat(timespec="seconds")
        author = (
            f"<dc:creator><rdf:Seq><rdf:li>{escape(self.author)}</rdf:li></rdf:Seq></dc:creator>" if self.author else ""
        )
        subject = (
            f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(self.subject)}</rdf:li></rdf:Alt>'
            "</dc:description>"
            if getattr(self, "subject", None)
            else ""
        )
        extension = _fx_xmp() if facturx else ""
        return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <pdfaid:part>{COMPLIANCE.part}</pdfaid:part>
   <pdfaid:conformance>{COMPLIANCE.conformance}</pdfaid:conformance>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(self.title)}</rdf:li></rdf:Alt></dc:title>
   {author}
   {subject}
   <dc:language><rdf:Bag><rdf:li>{escape(self.lang)}</rdf:li></rdf:Bag></dc:language>
   <pdf:Producer>{escape(self.producer)}</pdf:Producer>
   <xmp:CreatorTool>{escape(self.creator)}</xmp:CreatorTool>
   <xmp:CreateDate>{when}</xmp:CreateDate>
   <xmp:ModifyDate>{when}</xmp:ModifyDate>
   <xmp:MetadataDate>{when}</xmp:MetadataDate>
  </rdf:Description>{extension}
 </rdf:RDF>
</x:xmpmeta>"""

    def _add_fonts(self) -> None:
        for template, data in _templates(_characters(self.view)):
            font = _fresh_font(template, data, len(self.fonts) + 1)
            self.fonts[font.fontkey] = font

    def header(self) -> None:
        if self.page_no() > 1 and self.table_header is not None:
            self.set_y(MARGIN)
            self._row(self.table_header, bold=True)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 7)
        self.cell(0, 4, self.view["footer"], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        page = self.view["text"]["page"].format(page=self.page_no(), pages="{nb}")
        self.cell(0, 4, page, align="C")

    def _lines(self, text: str, width: float) -> list[Line]:
        """`text` wrapped in the current font to a cell `width` wide (less
        the cell's inner margins, as `cell` leaves them)."""
        # a carriage return is no glyph (multi_cell dropped it too): a Windows line end is a newline
        return wrap(text.replace("\r", ""), int(self._room(width)), self.current_font.cw.__getitem__)

    def _room(self, width: float) -> float:
        """The text a cell `width` wide holds, in the current font's units."""
        return (width - 2 * self.c_margin) * 1000 / self.font_size

    def _width(self, text: str) -> int:
        """`text`'s width in the current font's units."""
        return sum(map(self.current_font.cw.__getitem__, map(ord, text)))

    def _text(self, x: float, y: float, width: float, height: float, line: Line | str, align: str = "L") -> None:
        """A line of text in the box at (x, y), placed where `cell` and
        `multi_cell` place it. Justified (J, `multi_cell`'s default): the
        space left is shared between its words, but for a paragraph's last
        line, which stays aligned left."""
        text, last = (line, True) if isinstance(line, str) else line
        if not text:
            return
        scale = self.font_size / 1000
        baseline = y + 0.5 * height + 0.3 * self.font_size
        if align == "J" and not last and " " in text:
            words = text.split(" ")
            stretch = (self._room(width) - self._width(text)) / (len(words) - 1)
            advance = x + self.c_margin
            for word in words:
                if word:
                    self.text(advance, baseline, word)
                advance += (self._width(word) + self.current_font.cw[32] + stretch) * scale
            return
        if align in ("L", "J"):
            x += self.c_margin
        else:
            used = self._width(text) * scale
            x += width - self.c_margin - used if align == "R" else (width - used) / 2
        self.text(x, baseline, text)

    def _paragraph(self, width: float, height: float, text: str, align: str = "J") -> None:
        """`text` wrapped to `width` (0: up to the right margin), a line every
        `height` from the current position down, onto new pages as needed.
        Ends under it, at the x it started from."""
        x = self.get_x()
        width = width or self.w - self.r_margin - x
        font = (self.font_family, self.font_style, self.font_size_pt)
        for line in self._lines(text, width):
            if self.will_page_break(height):
                self.add_page()
                self.set_font(*font)
            self._text(x, self.get_y(), width, height, line, align)
            self.set_xy(x, self.get_y() + height)

    def _row(self, cells: list[str], bold: bool = False, fill: bool = False) -> None:
        """One table row: the description wraps, the figures do not. A row
        goes whole to the next page when it does not fit in what is left of
        this one but would on a new one; a row taller than a page is cut
        across pages, its figures on its first."""
        style = "B" if bold else ""
        self.set_font(FONT, style, 8)
        lines, figures = self._lines(cells[0], self.columns[0][0]), cells[1:]
        whole_page = self.page_break_trigger - self.t_margin - LINE_HEIGHT  # under the repeated header
        fresh = False  # a page just begun for this row: it draws there, whatever fits (at least a line)
        while lines:
            room = int((self.page_break_trigger - self.get_y()) / LINE_HEIGHT + 1e-9)
            if not fresh and room < len(lines) and (room < 1 or len(lines) * LINE_HEIGHT <= whole_page):
                self.add_page()
                self.set_font(FONT, style, 8)
                fresh = True
                continue
            room = max(room, 1)
            self._cells(lines[:room], figures, fill)
            lines, figures, fresh = lines[room:], [""] * len(figures), False

    def _cells(self, lines: list[Line], figures: list[str], fill: bool) -> None:
        """A row's cells on one page: the description's lines, the figures
        centred on their height, a rule under them."""
        x, y = self.get_x(), self.get_y()
        height = LINE_HEIGHT * len(lines)
        columns = self.columns
        table_width = sum(width for width, _ in columns)
        if fill:
            self.rect(x, y, table_width, height, style="F")
        self.line(x, y + height, x + table_width, y + height)
        for index, line in enumerate(lines):
            self._text(x, y + index * LINE_HEIGHT, columns[0][0], LINE_HEIGHT, line, "J")
        left = x + columns[0][0]
        for (width, align), text in zip(columns[1:], figures, strict=True):
            self._text(left, y, width, height, text, align)
            left += width
        self.set_xy(x, y + height)


def _fx_xmp() -> str:
    """The XMP of Factur-X: its extension schema (PDF/A wants every
    property a schema of its own declares), then the properties' values."""
    declared = "".join(
        f'<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name>'
        f"<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
        for name, _, description in FX_PROPERTIES
    )
    values = "".join(f"<fx:{name}>{value}</fx:{name}>" for name, value, _ in FX_PROPERTIES)
    return f"""
  <rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
    <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
    <pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>
    <pdfaSchema:prefix>fx</pdfaSchema:prefix>
    <pdfaSchema:property><rdf:Seq>{declared}</rdf:Seq></pdfaSchema:property>
   </rdf:li></rdf:Bag></pdfaExtension:schemas>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:fx="{FX_NAMESPACE}">{values}</rdf:Description>"""


def render_pdf(view: dict[str, Any], facturx: FacturX | None = None) -> bytes:
    """The PDF/A-3 of a document's view-model, with its Factur-X XML when
    given. Long on purpose: it lays out the page from top to bottom, one
    block after the other, in reading order; cut into functions, the order
    of the page would be lost."""
    pdf = _Document(view, facturx)
    text = view["text"]
    pdf.add_page()

    if view.get("banner"):
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(155, 28, 28)
        pdf.cell(0, 6, view["banner"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
    if view.get("logo"):
        _logo(pdf, view["logo"]["image"])
    pdf.set_font(FONT, "B", 16)
    heading = f"{view['title']} {text['number']} {view['number']}" if view.get("number") else view["title"]
    pdf.cell(120, 9, heading)
    pdf.set_font(FONT, "", 9)
    dates = [
        (text["issue_date"], view.get("issue_date")),
        (text["service_date"], view.get("service_date")),
        ("", view.get("service_period")),  # a sentence of its own: "Période du 01/01/2027 au 31/01/2027"
        (text["due_date"], view.get("due_date")),
        *view.get("references", ()),
    ]
    heading_lines = [f"{label} : {value}" if label else value for label, value in dates if value]
    if view.get("validity"):  # an estimate's: "Valable jusqu'au 03/01/2027"
        heading_lines.append(view["validity"])
    pdf._paragraph(0, 4.5, "\n".join(heading_lines), align="R")
    pdf.set_x(MARGIN)
    pdf.ln(4)

    top = pdf.get_y()
    blocks = [(text["seller"], view["seller"]), (text["buyer"], view["buyer"])]
    if view.get("delivery_address"):
        blocks.append((text["delivery_address"], {"name": "", "address": view["delivery_address"], "details": []}))
    bottom = top + 30
    for offset, (role, party) in enumerate(blocks):
        # the seller left, the client right, a delivery address under the client
        pdf.set_xy(MARGIN + min(offset, 1) * 96, top if offset < 2 else bottom + 2)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(90, 5, role, new_x=XPos.LEFT, new_y=YPos.NEXT)
        lines = [line for line in [party["name"], *party["address"], *party["details"]] if line]
        pdf.set_font(FONT, "", 9)
        pdf._paragraph(90, 4.5, "\n".join(lines))
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(MARGIN, bottom + 4)

    header = [text["description"], text["quantity"], text["unit"], text["unit_price"], text["discount"],
              text["vat_rate"], text["net"]]  # fmt: skip
    pdf.set_fill_color(240, 240, 240)
    pdf._row(header, bold=True, fill=True)
    pdf.table_header = header
    for line in view["lines"]:
        name = f"{line['name']}\n{line['description']}" if line.get("description") else line["name"]
        pdf._row([name, line["quantity"], line["unit"] or "", line["unit_price"], line["discount"] or "",
                  line["vat"] or "", line["net"]])  # fmt: skip
    pdf.table_header = None
    pdf.ln(4)

    _amounts(pdf, [(text["vat_breakdown"], "")] + [
        (f"{row['label']} {row['rate']} — {text['base']} {row['base']}", row["tax"]) for row in view["vat_breakdown"]
    ] if view["vat_breakdown"] else [])  # fmt: skip
    _amounts(pdf, [(row["label"], row["amount"]) for row in view["totals"]], strong={
        row["label"] for row in view["totals"] if row.get("strong")
    })  # fmt: skip
    if view["schedule"]:
        _amounts(pdf, [(text["schedule"], "")] + [(row["due_date"], row["amount"]) for row in view["schedule"]])
    if view.get("deposit_asked"):  # an estimate's
        pdf.set_font(FONT, "B", 9)
        pdf._paragraph(0, 5, view["deposit_asked"], align="R")
        pdf.ln(2)

    attached = "\n".join(view.get("attachments") or [])
    for title, body in (
        (text["notes"], view.get("notes")),
        (text["terms"], view.get("terms")),
        (text["attachments"], attached),
    ):
        if body:
            pdf.ln(2)
            pdf.set_font(FONT, "B", 9)
            pdf.cell(0, 5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(FONT, "", 8)
            pdf._paragraph(0, 4, body)
    if view.get("approval"):  # an estimate's "Bon pour accord"
        _approval(pdf, view["approval"])
    pdf.ln(3)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(80, 80, 80)
    for mention in view["mentions"]:
        pdf._paragraph(0, 3.8, mention)
    return bytes(pdf.output())


def render_estimate(view: dict[str, Any]) -> bytes:
    """The PDF of an estimate's view-model (view.estimate_view): the
    invoice's layout, PDF/A like every document, but no Factur-X: an
    estimate is no invoice, and EN 16931 has nothing to say of it."""
    return render_pdf(view)


STATEMENT_COLUMNS = ((66, "L"), (22, "L"), (32, "R"), (32, "R"), (34, "R"))  # label, date, debit, credit, balance


def render_statement(view: dict[str, Any]) -> bytes:
    """A customer's statement of account (documents.view.statement_view):
    PDF/A like every document, one table per currency, the opening
    balance first, the closing balance last."""
    pdf = _Document(view)
    text = view["text"]
    pdf.columns = STATEMENT_COLUMNS
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, view["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, view["period"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT, "B", 9)
    pdf.cell(90, 5, view["seller"]["name"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(MARGIN + 96)
    pdf.set_font(FONT, "", 9)
    pdf._paragraph(90, 4.5, "\n".join(view["customer"]))
    pdf.set_x(MARGIN)
    pdf.ln(4)
    header = [text["label"], text["date"], text["debit"], text["credit"], text["balance"]]
    for account in view["accounts"]:
        pdf.set_fill_color(240, 240, 240)
        pdf._row(header, bold=True, fill=True)
        pdf.table_header = header
        label, amount = account["opening"]
        pdf._row([label, "", "", "", amount], bold=True)
        for line in account["lines"]:
            pdf._row(line)
        label, debit, credit = account["totals"]
        pdf._row([label, "", debit, credit, ""], bold=True)
        label, amount = account["closing"]
        pdf._row([f"{label} — {account['standing']}", "", "", "", amount], bold=True)
        pdf.table_header = None
        pdf.ln(6)
    return bytes(pdf.output())


APPROVAL_BOX_HEIGHT = 22  # room for a date, a name, a signature and the words "Bon pour accord"


def _approval(pdf: _Document, approval: dict[str, Any]) -> None:
    """The "Bon pour accord" block: its title, its lines, then the boxes
    the client fills in by hand, side by side (when the estimate still
    takes a signature). The block starts on a new page rather than have its
    boxes cut in two: a signature box split across pages is signed on
    neither half."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    height = 5 + 4.5 * len(approval["lines"]) + (APPROVAL_BOX_HEIGHT + 2 if approval["boxes"] else 0)
    pdf.ln(3)
    if pdf.will_page_break(height):
        pdf.add_page()
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 5, approval["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    for line in approval["lines"]:
        pdf._paragraph(0, 4.5, line, align="L")
    if approval["boxes"]:
        gap, top = 4, pdf.get_y() + 1
        box = (width - gap * (len(approval["boxes"]) - 1)) / len(approval["boxes"])
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(80, 80, 80)
        for index, label in enumerate(approval["boxes"]):
            left = MARGIN + index * (box + gap)
            pdf.rect(left, top, box, APPROVAL_BOX_HEIGHT)
            pdf._text(left, top, box, 4.5, label)
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(MARGIN, top + APPROVAL_BOX_HEIGHT + 1)


def _logo(pdf: _Document, image: bytes) -> None:
    """The seller's logo, 16 mm high at most, top left. An image Pillow
    cannot read (it passed the upload's signature check only) is left out
    rather than failing the invoice."""
    top = pdf.get_y()
    try:
        from PIL import Image

        with Image.open(BytesIO(image)) as probe:  # reads the header only
            if max(probe.size) > LOGO_MAX_PIXELS:
                raise ValueError(f"a logo of {probe.size} pixels is too large to decode for every document")
            # PDF/A takes device CMYK under a CMYK output intent only, and ours is sRGB: a CMYK
            # JPEG without its own ICC profile goes in as RGB. Transparency (a PNG's alpha) is
            # allowed from PDF/A-2 on, and the pages say they blend in RGB.
            cmyk = probe.mode == "CMYK" and not probe.info.get("icc_profile")
            source = probe.convert("RGB") if cmyk else BytesIO(image)
        placed = pdf.image(source, x=MARGIN, y=top, h=LOGO_HEIGHT, keep_aspect_ratio=True, w=LOGO_WIDTH)
    except Exception:
        logger.warning("logo left out: the image could not be read", exc_info=True)
        return
    pdf.set_y(top + placed.rendered_height + 3)


def _amounts(pdf: _Document, rows: list[tuple[str, str]], strong: set[str] | None = None) -> None:
    """Label and amount pairs, right-aligned under the lines."""
    for label, amount in rows:
        pdf.set_font(FONT, "B" if strong and label in strong else "", 9)
        pdf.set_x(MARGIN + 76)
        pdf.cell(80, 5.5, label, align="R")
        pdf.cell(30, 5.5, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
