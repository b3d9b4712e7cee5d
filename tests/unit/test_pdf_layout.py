"""The PDF lays out any invoice SPEC allows (documents/pdf.py): long
descriptions wrap inside their column, a description taller than a page
runs over the pages, the largest invoice renders whole — from the
view-model alone, no AWS."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pypdf
import pytest

from tests.samples import issued_invoice

pytestmark = pytest.mark.unit

SENTENCE = "Intégration de l'API de facturation électronique, contrôle des données et reprise de l'historique client. "


def description(size: int) -> str:
    return (SENTENCE * (size // len(SENTENCE) + 1))[:size].strip()


def view_of(count: int, text: str | None) -> dict:
    return issued_invoice(count, text)[1]


def pages_of(data: bytes, pages: slice = slice(None)) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\u202f", " ").replace("\xa0", " ") for page in reader.pages[pages]]


def words(text: str) -> list[str]:
    return re.findall(r"[\w'.,-]+", text)


def test_given_descriptions_of_600_characters_when_rendered_then_every_word_is_there_in_order():
    from invoicing.documents.pdf import render_pdf

    text = description(600)
    pages = pages_of(render_pdf(view_of(12, text)))

    found = " ".join(pages)
    assert found.count("Développement") == 12
    # each line's description, its words in order (the page breaks fall between rows)
    expected = words(text)
    runs = [words(chunk)[: len(expected)] for chunk in found.split("Développement")[1:]]
    assert runs == [expected] * 12
    assert len(pages) >= 3
    assert all(page.rstrip().endswith(f"Page {n}/{len(pages)}") for n, page in enumerate(pages, 1))


def test_given_a_description_taller_than_a_page_when_rendered_then_it_runs_on_with_its_figures_once():
    from invoicing.documents.pdf import render_pdf

    text = description(5_000)  # SPEC's longest text: about 110 lines in the description's column
    pages = pages_of(render_pdf(view_of(1, text)))

    assert len(pages) >= 3
    assert words(" ".join(pages)).count("reprise") == text.count("reprise")
    assert sum(page.count("450,00 €") for page in pages) == 1  # the unit price, on the row's first page
    assert all(page.rstrip().endswith(f"Page {n}/{len(pages)}") for n, page in enumerate(pages, 1))


def test_given_the_largest_invoice_spec_allows_when_rendered_then_it_ends_with_its_last_line_and_totals():
    """1,000 lines of 600 characters: 27 s with fpdf2's multi_cell, about 1.5 s here (`make bench`)."""
    from invoicing.documents.pdf import render_pdf

    data = render_pdf(view_of(1_000, description(600)))
    count = len(pypdf.PdfReader(io.BytesIO(data)).pages)
    last = " ".join(pages_of(data, slice(-3, None)))

    assert count > 200  # about four such rows a page
    assert "Total TTC 1 620 000,00 €" in last  # 1,000 × 3 days × 450.00, VAT 20 %
    assert last.rstrip().endswith(f"Page {count}/{count}")


LAYER_FONTS = Path(__file__).resolve().parents[2] / "build" / "layers" / "pdf" / "fonts"


@pytest.mark.skipif(not (LAYER_FONTS / "DejaVuSans-Western.ttf").is_file(), reason="make build cuts the fonts")
def test_given_a_document_s_characters_then_the_smallest_cut_holding_them_all_is_used():
    from invoicing.documents.pdf import _templates

    assert os.environ["FONTS_DIR"] == str(LAYER_FONTS)

    def chosen(text: str) -> list[str]:
        return [Path(font.ttffile).name for font, _ in _templates(set(text))]

    assert chosen("Facture N° 12 : 1\u202f350,00 € — l’œuvre « Ÿ »\n") == [
        "DejaVuSans-Western.ttf", "DejaVuSans-Bold-Western.ttf"]  # fmt: skip
    assert chosen("Łódź, Dvořák: 1 350,00 €") == ["DejaVuSans-Latin.ttf", "DejaVuSans-Bold-Latin.ttf"]
    assert chosen("Δημήτρης, 1 350,00 €") == ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]


@pytest.mark.skipif(not (LAYER_FONTS / "DejaVuSans-Western.ttf").is_file(), reason="make build cuts the fonts")
@pytest.mark.parametrize("text", ["Révision « été » — l’œuvre 1\u202f350,00 €", "Łódź, Dvořák", "Δημήτρης"])
def test_given_text_of_each_cut_then_the_pdf_shows_every_character(text: str):
    from invoicing.documents.pdf import render_pdf

    data = render_pdf(view_of(2, text))

    assert text.replace("\u202f", " ") in " ".join(pages_of(data))


def embedded_fonts(data: bytes) -> list[bytes]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    return [
        font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"].get_data()
        for font in fonts.values()
    ]


@pytest.mark.skipif(not (LAYER_FONTS / "DejaVuSans-Western.ttf").is_file(), reason="make build cuts the fonts")
def test_the_western_cut_is_embedded_as_it_is_document_after_document():
    """Embedded whole, through our subsetter (which leaves it as it is): the
    font file in the PDF is the cut's, and every character drawn maps to
    its glyph in the cut, for the third document as for the first (the
    cut's tables are shared by every document of the process)."""
    import fpdf.output

    from invoicing.documents.pdf import _Subsetter, render_pdf

    cut = {(LAYER_FONTS / name).read_bytes() for name in ("DejaVuSans-Western.ttf", "DejaVuSans-Bold-Western.ttf")}
    renders = [render_pdf(view_of(count, "Révision « été » — 1\u202f350,00 €")) for count in (2, 5, 2)]

    assert fpdf.output.ftsubset.Subsetter is _Subsetter
    assert all(set(embedded_fonts(data)) == cut for data in renders)
    assert all(glyphs_drawn(data) == glyphs_in_the_cut(glyphs_drawn(data)) for data in renders)


def glyphs_drawn(data: bytes) -> dict[str, int]:
    """Each character the regular font draws, and the glyph id the PDF maps
    it to (not fpdf2's own entries for the empty glyph, .notdef)."""
    font = pypdf.PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]["/F1"].get_object()
    to_gid = font["/DescendantFonts"][0].get_object()["/CIDToGIDMap"].get_data()
    pairs = re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", font["/ToUnicode"].get_data().decode())
    return {chr(int(char, 16)): int.from_bytes(to_gid[int(code, 16) * 2 : int(code, 16) * 2 + 2], "big")
            for code, char in pairs if char not in ("0000", "FFFF")}  # fmt: skip


def glyphs_in_the_cut(drawn: dict[str, int]) -> dict[str, int]:
    from fontTools.ttLib import TTFont

    cut = TTFont(LAYER_FONTS / "DejaVuSans-Western.ttf")
    return {char: cut.getGlyphID(cut.getBestCmap()[ord(char)]) for char in drawn}
