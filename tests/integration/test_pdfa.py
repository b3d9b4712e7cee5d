"""The PDF is PDF/A-3B, and stays so with its Factur-X XML embedded: what
the XMP declares, the sRGB output intent, the embedded fonts, and the
attachment as EN 16931 and Factur-X 1.0 require it (the name, the
relationship, the catalog's /AF, the extension schema). The structure is
read with pypdf; no PDF/A validator runs here."""

from __future__ import annotations

import hashlib
import io
import os
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import boto3
import pypdf
import pytest

pytestmark = pytest.mark.integration

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_PROPERTIES = ("DocumentFileName", "DocumentType", "Version", "ConformanceLevel")
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "fx": FX,
}


def rendered(invoice_id: str, facturx: Any = None) -> bytes:
    """The invoice's PDF as render_pdf makes it, from the view the documents
    function builds: without its XML, or with the `facturx` given."""
    from invoicing.adapters.live import deps
    from invoicing.documents.pdf import render_pdf
    from invoicing.logic import documents, invoices

    invoice = invoices.get_invoice(deps(), "acme", invoice_id)
    view = documents.view_model(deps(), "acme", invoice, *documents.parties(deps(), "acme", invoice))
    return render_pdf(view, facturx)


def xmp(reader: pypdf.PdfReader) -> ET.Element:
    return ET.fromstring(reader.trailer["/Root"]["/Metadata"].get_object().get_data())


def one(metadata: ET.Element, path: str) -> str | None:
    """The text of the one element at `path`, in whichever rdf:Description it is."""
    (element,) = metadata.findall(f".//{path}", NS)
    return element.text


def fonts(reader: pypdf.PdfReader) -> dict[str, pypdf.generic.DictionaryObject]:
    """Each font the pages use, by name: its descriptor."""
    found = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            found[str(font["/BaseFont"])] = descendant["/FontDescriptor"].get_object()
    return found


def small_cii_xml(number: str) -> bytes:
    """A small CII invoice at the EN 16931 level, valid against its XSD."""
    import facturx

    data = {
        "BT-1": number, "BT-2": date(2026, 11, 27), "BT-3": "380", "BT-5": "EUR", "BT-9": date(2026, 12, 27),
        "BT-24": "urn:cen.eu:en16931:2017", "BT-72": date(2026, 11, 27),
        "BG-4": {"name": "Acme SAS", "legal_identifier": "732829320", "legal_identifier_schemeid": "0002",
                 "vat_identifier": "FR44732829320", "addr_l1": "1 rue de la Paix", "postcode": "75002",
                 "city": "Paris", "country_code": "FR"},
        "BG-7": {"name": "Dupont & Fils", "addr_l1": "12 avenue Foch", "postcode": "69006", "city": "Lyon",
                 "country_code": "FR"},
        "BT-106": "100.00", "BT-109": "100.00", "BT-110": "20.00", "BT-112": "120.00", "BT-115": "120.00",
        "BG-23": [{"BT-116": "100.00", "BT-117": "20.00", "BT-118": "S", "BT-119": "20.00"}],
        "BG-25": [{"BT-126": "1", "BT-129": "1", "BT-130": "C62", "BT-131": "100.00", "BT-146": "100.00",
                   "BT-151": "S", "BT-152": "20.00", "BT-153": "Développement"}],
    }  # fmt: skip
    # check_schematron=False: the library would POST the XML to a Saxon server
    return facturx.generate_xml(data, flavor="factur-x", level="en16931", check_xsd=True, check_schematron=False)


def test_the_rendered_pdf_declares_pdfa_3b_with_the_invoices_title_author_and_language(api, issued):
    reader = pypdf.PdfReader(io.BytesIO(rendered(issued["id"])))
    metadata = xmp(reader)

    assert (one(metadata, "pdfaid:part"), one(metadata, "pdfaid:conformance")) == ("3", "B")
    assert one(metadata, "dc:title/rdf:Alt/rdf:li") == "Facture INV-1"
    assert one(metadata, "dc:creator/rdf:Seq/rdf:li") == "Acme SAS"
    assert one(metadata, "dc:language/rdf:Bag/rdf:li") == "fr-FR"
    assert one(metadata, "pdf:Producer").startswith("fpdf2 ")
    assert reader.trailer["/Root"]["/Lang"] == "fr-FR"
    assert reader.metadata is None  # no Info dictionary that could contradict the XMP


def test_the_rendered_pdf_has_an_srgb_output_intent_with_its_icc_profile(api, issued):
    reader = pypdf.PdfReader(io.BytesIO(rendered(issued["id"])))

    (intent,) = reader.trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()

    assert (intent["/S"], intent["/OutputConditionIdentifier"]) == ("/GTS_PDFA1", "sRGB")
    assert profile["/N"] == 3
    assert len(icc) == int.from_bytes(icc[:4], "big")  # the profile's own size, whole
    assert (icc[12:16], icc[16:20], icc[36:40]) == (b"mntr", b"RGB ", b"acsp")  # a display RGB ICC profile


def test_every_font_of_the_rendered_pdf_is_embedded(api, issued):
    reader = pypdf.PdfReader(io.BytesIO(rendered(issued["id"])))

    used = fonts(reader)

    assert {name.split("+")[-1] for name in used} == {"DejaVuSansBook", "DejaVuSansBold"}
    for name, descriptor in used.items():
        program = descriptor["/FontFile2"].get_object().get_data()
        assert program[:4] == b"\x00\x01\x00\x00", name  # a TrueType font program, not a reference to one


def upload_logo(api, data: bytes, content_type: str) -> None:
    form = api.post("/business/logo", {"content_type": content_type, "size": len(data)})
    assert form.status == 201, form.body
    bucket = os.environ["DOCUMENTS_BUCKET"]
    boto3.client("s3").put_object(Bucket=bucket, Key=form.body["upload"]["fields"]["key"], Body=data)
    assert api.post("/business/logo/confirm", {"id": form.body["id"]}).status == 200


@pytest.mark.parametrize(
    ("mode", "color", "fmt", "content_type", "transparent"),
    [
        ("RGBA", (200, 0, 0, 128), "PNG", "image/png", True),
        ("CMYK", (0, 100, 200, 0), "JPEG", "image/jpeg", False),
    ],
)
@pytest.mark.on_aws
def test_a_logo_with_alpha_or_in_cmyk_keeps_the_pdf_in_rgb(api, business, customer, mode, color, fmt, content_type,
                                                           transparent):  # fmt: skip
    """PDF/A allows transparency from part 2 on, with the pages blending in
    the output intent's colour space; it allows device CMYK only under a
    CMYK output intent, so a CMYK JPEG without a profile goes in as RGB."""
    from PIL import Image

    from tests.conftest import SPEC_INVOICE

    buffer = io.BytesIO()
    Image.new(mode, (120, 40), color).save(buffer, format=fmt)
    upload_logo(api, buffer.getvalue(), content_type)
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    invoice = api.post(f"/invoices/{draft['id']}/mark-sent").body

    page = pypdf.PdfReader(io.BytesIO(rendered(invoice["id"]))).pages[0]

    (image,) = (xobject.get_object() for xobject in page["/Resources"]["/XObject"].values())
    assert image["/ColorSpace"] == "/DeviceRGB"
    assert ("/SMask" in image) is transparent
    assert page["/Group"]["/CS"] == "/DeviceRGB"


# -- Factur-X: the XML embedded in the PDF/A-3 ---------------------------------------------


@pytest.fixture
def original(api, issued) -> bytes:
    """The issued invoice's PDF, as rendered."""
    return rendered(issued["id"])


@pytest.fixture
def facturx_pdf(api, issued) -> tuple[bytes, bytes]:
    """The issued invoice's PDF written with a CII XML embedded: (the PDF, the XML)."""
    from invoicing.documents.pdf import FacturX

    xml = small_cii_xml(issued["number"])
    return rendered(issued["id"], FacturX(xml, subject="Facture INV-1 du 27/11/2026")), xml


def test_the_facturx_pdf_still_declares_pdfa_3b_and_declares_the_facturx_schema(facturx_pdf):
    pdf, _ = facturx_pdf
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    metadata = xmp(reader)

    assert (one(metadata, "pdfaid:part"), one(metadata, "pdfaid:conformance")) == ("3", "B")
    assert one(metadata, "dc:title/rdf:Alt/rdf:li") == "Facture INV-1"
    assert one(metadata, "dc:creator/rdf:Seq/rdf:li") == "Acme SAS"
    assert one(metadata, "dc:description/rdf:Alt/rdf:li") == "Facture INV-1 du 27/11/2026"
    declared = {name: one(metadata, f"fx:{name}") for name in FX_PROPERTIES}
    assert declared == dict(zip(FX_PROPERTIES, ("factur-x.xml", "INVOICE", "1.0", "EN 16931"), strict=True))
    (schema,) = metadata.findall(".//pdfaExtension:schemas/rdf:Bag/rdf:li", NS)
    assert schema.findtext("pdfaSchema:namespaceURI", namespaces=NS) == FX
    assert schema.findtext("pdfaSchema:prefix", namespaces=NS) == "fx"
    properties = {
        prop.findtext("pdfaProperty:name", namespaces=NS): (
            prop.findtext("pdfaProperty:valueType", namespaces=NS),
            prop.findtext("pdfaProperty:category", namespaces=NS),
        )
        for prop in schema.findall("pdfaSchema:property/rdf:Seq/rdf:li", NS)
    }
    assert properties == dict.fromkeys(FX_PROPERTIES, ("Text", "external"))
    assert reader.trailer["/Root"]["/Lang"] == "fr-FR"


def test_the_xml_is_the_documents_data_file_named_facturx_xml(facturx_pdf):
    pdf, xml = facturx_pdf
    catalog = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]

    (spec,) = catalog["/AF"]
    spec = spec.get_object()
    names = catalog["/Names"]["/EmbeddedFiles"]["/Names"]
    stream = spec["/EF"]["/F"].get_object()

    assert (spec["/F"], spec["/UF"], spec["/AFRelationship"]) == ("factur-x.xml", "factur-x.xml", "/Data")
    assert (names[0], names[1].get_object()) == ("factur-x.xml", spec)  # the same file, listed once
    assert (stream["/Type"], stream["/Subtype"]) == ("/EmbeddedFile", "/text/xml")
    assert stream.get_data() == xml
    assert stream["/Params"]["/Size"] == len(xml)
    assert stream["/Params"]["/CheckSum"].original_bytes == hashlib.md5(xml).digest()


def test_facturx_reads_back_exactly_the_xml_embedded(facturx_pdf):
    import facturx
    from lxml import etree

    pdf, xml = facturx_pdf

    assert facturx.get_xml_from_pdf(pdf, check_xsd=False) == ("factur-x.xml", xml)
    assert facturx.get_facturx_level(etree.fromstring(xml)) == "en16931"


def test_embedding_keeps_the_pages_the_output_intent_and_the_fonts(original, facturx_pdf):
    pdf, _ = facturx_pdf
    before = pypdf.PdfReader(io.BytesIO(original))
    after = pypdf.PdfReader(io.BytesIO(pdf))

    assert [page.extract_text() for page in after.pages] == [page.extract_text() for page in before.pages]
    (intent,) = after.trailer["/Root"]["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    assert all("/FontFile2" in descriptor for descriptor in fonts(after).values())
    for reader in (before, after):  # PDF/A wants the file identifier: two byte strings
        assert [len(part.original_bytes) for part in reader.trailer["/ID"]] == [16, 16]


def test_no_information_dictionary_contradicts_the_xmp(facturx_pdf, original):
    """PDF/A: an information dictionary must say what the XMP says (ISO
    19005-3, 6.6.2.3.1); factur-x writes one with an empty /Keywords the XMP
    lacks. Neither the rendered PDF nor the Factur-X one carries one."""
    pdf, _ = facturx_pdf

    for data in (original, pdf):
        assert "/Info" not in pypdf.PdfReader(io.BytesIO(data)).trailer
    assert one(xmp(pypdf.PdfReader(io.BytesIO(pdf))), "dc:title/rdf:Alt/rdf:li") == "Facture INV-1"
