"""The invoice as Factur-X (EN 16931 profile): a PDF/A-3 that a person reads
and that carries the invoice's data as CII XML (`factur-x.xml`) for the
buyer's software to read.

The factur-x library loads here, on first use: it costs 200 to 350 ms to
import (lxml, pypdf, and requests, which it imports for a schematron check
by a Saxon server that this module never asks for). Only the documents
function imports this module; the PDF layer ships the library.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any


def embed_xml(pdf: bytes, xml: bytes, *, title: str, author: str, subject: str, lang: str = "fr-FR") -> bytes:
    """The PDF/A-3B `pdf` (as render_pdf makes it) with `xml`, the invoice's
    CII XML at the EN 16931 level, attached as `factur-x.xml`: an associated
    file of the document (/AF) whose relationship is /Data (the XML is the
    invoice's data, the pages show it), and an XMP that declares PDF/A-3B and
    the Factur-X extension schema. The XMP is rewritten with `title`,
    `author` and `subject`; `lang` is the document's language (RFC 3066).

    The XML is embedded as it is, unchecked: who makes it checks it.

    The library also writes a document information dictionary that the XMP
    does not match (an empty /Keywords it has no pdf:Keywords for, dates
    read from the clock twice), which PDF/A forbids; it is left out, as
    fpdf2 leaves it out of a PDF/A: the XMP is the document's metadata."""
    import facturx
    from pypdf import PdfWriter

    result: bytes = facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        pdf_metadata={"title": title, "author": author, "subject": subject},
        lang=lang,
        afrelationship="data",
    )
    writer = PdfWriter(clone_from=BytesIO(result))
    writer.metadata = None
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def cii_xml(data: dict[str, Any]) -> bytes:
    """The CII XML of `data` (domain.einvoice.cii_data: EN 16931 terms by
    id), checked against the Factur-X EN 16931 XML schema: an XML that does
    not pass raises, and is never embedded. (The library's schematron check
    would POST the XML to a Saxon server: the tests run those rules.)"""
    import facturx

    xml: bytes = facturx.generate_xml(data, flavor="factur-x", level="en16931", check_xsd=True, check_schematron=False)
    return xml
