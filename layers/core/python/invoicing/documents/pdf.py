"""The PDF rendering of the view-model (fpdf2, A4). Only the documents
function imports it: fpdf2 costs 200 ms to import.

The file is PDF/A-3B, the archival PDF that Factur-X requires (facturx.py
embeds the XML in it): every font embedded, an sRGB output intent (fpdf2's
own copy of the ICC's sRGB2014 profile, added by `enforce_compliance`),
XMP metadata. fpdf2 refuses what PDF/A forbids (core fonts, encryption).

The font is DejaVu Sans (Unicode: €, œ, Greek, Cyrillic…), embedded and
subset. It comes from Debian's fonts-dejavu-core at build time: FONTS_DIR
(a Lambda layer puts it in /opt/fonts), else the system's copy.
"""

from __future__ import annotations

import copy
import logging
from functools import cache
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF, FPDF_VERSION, XPos, YPos
from fpdf.enums import DocumentCompliance
from fpdf.fonts import SubsetMap, TTFFont

from invoicing.settings import settings

logger = logging.getLogger(__name__)

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
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
def _font_template(style: str) -> tuple[TTFFont, bytes]:
    """The font of `style`, parsed once per process: its metrics (widths,
    glyph ids, descriptor) never change; its file, as bytes."""
    path = font_dir() / FONT_FILES[style]
    scratch = FPDF()
    scratch.add_font(FONT, style, str(path))
    return scratch.fonts[f"{FONT.lower()}{style}"], path.read_bytes()


def _fresh_font(style: str, number: int) -> TTFFont:
    """The font for one document: the template's metrics, shared, with
    its own font tables and subset. fpdf2 subsets the font tables in place
    when it writes a file, so no two documents may share those (sharing
    them was measured: the second document lost glyphs); reading them is
    lazy, and costs only what the subset needs."""
    template, data = _font_template(style)
    font = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(template, slot):
            setattr(font, slot, getattr(template, slot))
    font.i = number
    font.desc = copy.copy(template.desc)  # fpdf2 writes the embedded file's ids onto it
    font.ttfont = TTFont(BytesIO(data), lazy=True, recalcTimestamp=False)
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    return font


class _Document(FPDF):
    def __init__(self, view: dict[str, Any]) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance=COMPLIANCE)
        self.view = view
        self.table_header: list[str] | None = None  # repeated at the top of each page while set
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
        self.set_xmp_metadata(self._xmp())

    def _xmp(self) -> str:
        """The XMP metadata: fpdf2 writes the same from the title, author and
        producer, but without the language (dc:language). Under PDF/A, fpdf2
        writes no Info dictionary: these are the document's only metadata."""
        when = self.creation_date.isoformat(timespec="seconds")
        author = (
            f"<dc:creator><rdf:Seq><rdf:li>{escape(self.author)}</rdf:li></rdf:Seq></dc:creator>" if self.author else ""
        )
        return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <pdfaid:part>{COMPLIANCE.part}</pdfaid:part>
   <pdfaid:conformance>{COMPLIANCE.conformance}</pdfaid:conformance>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(self.title)}</rdf:li></rdf:Alt></dc:title>
   {author}
   <dc:language><rdf:Bag><rdf:li>{escape(self.lang)}</rdf:li></rdf:Bag></dc:language>
   <pdf:Producer>{escape(self.producer)}</pdf:Producer>
   <xmp:CreatorTool>{escape(self.creator)}</xmp:CreatorTool>
   <xmp:CreateDate>{when}</xmp:CreateDate>
   <xmp:ModifyDate>{when}</xmp:ModifyDate>
   <xmp:MetadataDate>{when}</xmp:MetadataDate>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""

    def _add_fonts(self) -> None:
        for style in FONT_FILES:
            font = _fresh_font(style, len(self.fonts) + 1)
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

    def _row(self, cells: list[str], bold: bool = False, fill: bool = False) -> None:
        """One table row: the description wraps, the figures do not."""
        self.set_font(FONT, "B" if bold else "", 8)
        width = COLUMNS[0][0]
        one_line = "\n" not in cells[0] and self.get_string_width(cells[0]) < width - 2 * self.c_margin
        lines = 1 if one_line else len(self.multi_cell(width, LINE_HEIGHT, cells[0], dry_run=True, output="LINES"))
        height = LINE_HEIGHT * max(1, lines)
        if self.will_page_break(height):
            self.add_page()
            self.set_font(FONT, "B" if bold else "", 8)
        x, y = self.get_x(), self.get_y()
        if one_line:  # the common case, several times cheaper than multi_cell
            self.cell(width, height, cells[0], border="B", fill=fill)
        else:
            self.multi_cell(width, LINE_HEIGHT, cells[0], border="B", fill=fill, max_line_height=LINE_HEIGHT)
        self.set_xy(x + COLUMNS[0][0], y)
        for (width, align), text in zip(COLUMNS[1:], cells[1:], strict=True):
            self.cell(width, height, text, border="B", align=align, fill=fill)
        self.set_xy(x, y + height)


def render_pdf(view: dict[str, Any]) -> bytes:
    """The PDF/A-3 of a document's view-model. Long on purpose: it lays out
    the page from top to bottom, one block after the other, in reading
    order; cut into functions, the order of the page would be lost."""
    pdf = _Document(view)
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
        (text["due_date"], view.get("due_date")),
        *view.get("references", ()),
    ]
    pdf.multi_cell(0, 4.5, "\n".join(f"{label} : {value}" for label, value in dates if value), align="R",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
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
        pdf.multi_cell(90, 4.5, "\n".join(lines), new_x=XPos.LEFT, new_y=YPos.NEXT)
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
            pdf.multi_cell(0, 4, body, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(80, 80, 80)
    for mention in view["mentions"]:
        pdf.multi_cell(0, 3.8, mention, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


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
