"""The invoice as Factur-X (EN 16931 profile): a PDF/A-3 that a person reads
and that carries the invoice's data as CII XML (`factur-x.xml`) for the
buyer's software to read. The XML is made here; the PDF embeds it as it is
written (documents/pdf.py, FacturX).

The factur-x library loads here, on first use: it costs 200 to 350 ms to
import (lxml, pypdf, and requests, which it imports for a schematron check
by a Saxon server that this module never asks for). Only the documents
function imports this module; the PDF layer ships the library.
"""

from __future__ import annotations

from typing import Any


def cii_xml(data: dict[str, Any]) -> bytes:
    """The CII XML of `data` (domain.einvoice.cii_data: EN 16931 terms by
    id), checked against the Factur-X EN 16931 XML schema: an XML that does
    not pass raises, and is never embedded. (The library's schematron check
    would POST the XML to a Saxon server: the tests run those rules.)"""
    import facturx

    xml: bytes = facturx.generate_xml(data, flavor="factur-x", level="en16931", check_xsd=True, check_schematron=False)
    return xml
