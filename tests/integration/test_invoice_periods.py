"""The service period an invoice bills (SPEC §12): sent on POST and PATCH
(or given by what the invoice is made from, a recurring invoice), stored
as ISO days, returned, printed on the PDF and the preview ("Période du
01/10/2026 au 31/10/2026"), and carried in the Factur-X XML as the EN 16931
invoicing period, which passes the schematron. A copy of the invoice
bills another period: duplicates and templates leave it out."""

from __future__ import annotations

import io
import json
from typing import Any

import facturx
import pypdf
import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, SPEC_INVOICE
from tests.einvoice_rules import schematron_failures, xsd_errors
from tests.integration.test_legal_settings import cii
from tests.integration.test_openapi import check
from tests.integration.test_preview import text_of

pytestmark = pytest.mark.integration

OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}
PRINTED = "Période du 01/10/2026 au 31/10/2026"
PERIOD = "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod"


def stored(invoice_id: str) -> dict[str, Any]:
    from invoicing.adapters.live import deps

    doc = deps().store.get("acme", "invoice", invoice_id)
    assert doc is not None
    return doc


@pytest.fixture
def client(api) -> dict[str, Any]:
    assert api.put("/business", BUSINESS).status == 200
    return api.post("/customers", {"name": "Dupont & Fils", "siren": "552100554", "address": CLIENT_ADDRESS}).body


@pytest.fixture
def issued(api, client) -> dict[str, Any]:
    """The SPEC invoice billing October, issued."""
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"], "service_period": OCTOBER})
    assert draft.status == 201, draft.body
    reply = api.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def pdf_of(invoice_id: str) -> tuple[str, bytes]:
    """The invoice's PDF as a reader reads it, and the Factur-X XML it carries."""
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    data = documents.pdf(deps(), "acme", invoice_id)
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())
    _, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    return text.replace("\u202f", " ").replace("\xa0", " "), xml


# -- sent, stored, returned ------------------------------------------------------------------------


def test_given_a_period_when_an_invoice_is_created_then_it_is_stored_as_iso_days_and_returned(api, client):
    reply = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"], "service_period": OCTOBER})

    assert reply.status == 201, reply.body
    assert reply.body["service_period"] == OCTOBER
    assert stored(reply.body["id"])["service_period"] == OCTOBER
    assert api.get(f"/invoices/{reply.body['id']}").body["service_period"] == OCTOBER
    (listed,) = api.get("/invoices").body["items"]
    assert listed["service_period"] == OCTOBER


def test_given_no_period_when_an_invoice_is_created_then_it_has_none(api, client):
    reply = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"]})

    assert reply.body["service_period"] is None
    assert stored(reply.body["id"])["service_period"] is None


def test_given_a_period_ending_before_it_starts_when_posted_then_422_names_its_end(api, client):
    reply = api.post(
        "/invoices",
        {**SPEC_INVOICE, "customer_id": client["id"], "service_period": {"start": "2026-10-31", "end": "2026-10-01"}},
    )

    assert reply.status == 422
    assert reply.error_fields == ["service_period.end"]
    assert api.get("/invoices").body["items"] == []


def test_given_a_draft_when_patched_then_its_period_is_set_refused_when_backwards_and_cleared(api, client):
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"]}).body

    set_ = api.patch(f"/invoices/{draft['id']}", {"service_period": OCTOBER, "version": draft["version"]})
    backwards = api.patch(
        f"/invoices/{draft['id']}",
        {"service_period": {"start": "2026-11-02", "end": "2026-11-01"}, "version": set_.body["version"]},
    )
    cleared = api.patch(f"/invoices/{draft['id']}", {"service_period": None, "version": set_.body["version"]})

    assert set_.body["service_period"] == OCTOBER
    assert backwards.status == 422
    assert backwards.error_fields == ["service_period.end"]
    assert cleared.status == 200, cleared.body
    assert cleared.body["service_period"] is None
    assert stored(draft["id"])["service_period"] is None


def test_given_the_period_as_read_when_sent_back_then_it_is_taken_as_it_was(api, client):
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"], "service_period": OCTOBER}).body

    reply = api.patch(f"/invoices/{draft['id']}", {"service_period": draft["service_period"], "version": 1})

    assert reply.status == 200, reply.body
    assert reply.body["service_period"] == OCTOBER


def test_given_an_issued_invoice_with_a_period_when_read_then_the_response_is_described_by_the_document(api, issued):
    from invoicing.api.openapi import committed

    document = json.loads(committed())

    check(document, "get", "/invoices/{invoice_id}", api.get(f"/invoices/{issued['id']}"))
    check(document, "get", "/invoices", api.get("/invoices"))


# -- made from another document (a recurring invoice's occurrence) ---------------------------------


def test_given_a_period_in_what_an_invoice_is_made_from_then_it_is_stored_as_a_clients_would_be(api, client):
    from datetime import date

    from invoicing.adapters.live import deps
    from invoicing.logic import invoices

    made = invoices.create_made(
        deps(), "acme", "inv_made", {"name": "Octobre", "customer_id": client["id"], "lines": SPEC_INVOICE["lines"]},
        {"recurring_id": "rec_1", "service_period": {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}},
    )  # fmt: skip

    assert made["service_period"] == OCTOBER
    assert stored("inv_made")["service_period"] == OCTOBER
    assert stored("inv_made")["recurring_id"] == "rec_1"


def test_given_a_backwards_period_in_what_an_invoice_is_made_from_then_nothing_is_made(api, client):
    from invoicing.adapters.live import deps
    from invoicing.domain.errors import InvalidInput
    from invoicing.logic import invoices

    with pytest.raises(InvalidInput) as raised:
        invoices.create_made(
            deps(), "acme", "inv_backwards", {"name": "Octobre", "customer_id": client["id"]},
            {"recurring_id": "rec_1", "service_period": {"start": "2026-10-31", "end": "2026-10-01"}},
        )  # fmt: skip

    assert [problem.field for problem in raised.value.errors] == ["service_period.end"]
    assert api.get("/invoices/inv_backwards").status == 404


# -- copies bill another period --------------------------------------------------------------------


def test_given_an_invoice_with_a_period_when_duplicated_then_the_copy_has_none(api, issued):
    copy = api.post(f"/invoices/{issued['id']}/duplicate")

    assert copy.status == 201, copy.body
    assert copy.body["service_period"] is None


def test_given_an_invoice_with_a_period_when_made_a_template_then_the_template_and_its_invoices_have_none(
    api, client, issued
):
    template = api.post(f"/invoices/{issued['id']}/template", {"name": "Mensuel"})
    made = api.post(f"/templates/{template.body['id']}/invoices", {"customer_id": client["id"]})

    assert template.status == 201, template.body
    assert "service_period" not in template.body
    assert made.status == 201, made.body
    assert made.body["service_period"] is None


# -- printed, and in the Factur-X data --------------------------------------------------------------


def test_given_an_issued_invoice_with_a_period_then_its_pdf_prints_it_with_the_dates(api, issued):
    text, _ = pdf_of(issued["id"])

    assert f"Date d'émission : 27/11/2026 {PRINTED} Date d'échéance : 27/12/2026" in text
    assert "Date de la vente ou de la prestation" not in text


def test_given_an_issued_invoice_with_a_period_then_its_factur_x_says_the_billing_period_and_passes(api, issued):
    _, xml = pdf_of(issued["id"])

    assert cii(xml, f"{PERIOD}/ram:StartDateTime/*") == ["20261001"]
    assert cii(xml, f"{PERIOD}/ram:EndDateTime/*") == ["20261031"]
    assert cii(xml, "//ram:ActualDeliverySupplyChainEvent") == []
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []


def test_given_a_period_and_a_service_date_then_both_are_printed_and_carried(api, client):
    draft = api.post(
        "/invoices",
        {**SPEC_INVOICE, "customer_id": client["id"], "service_period": OCTOBER, "service_date": "2026-10-15"},
    ).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body

    text, xml = pdf_of(issued["id"])

    assert f"Date de la vente ou de la prestation : 15/10/2026 {PRINTED}" in text
    assert cii(xml, "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/*") == ["20261015"]
    assert cii(xml, f"{PERIOD}/ram:EndDateTime/*") == ["20261031"]
    assert schematron_failures(xml) == []


def test_given_an_invoice_with_a_period_then_its_preview_and_its_draft_preview_print_it(api, client, issued):
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": "Novembre", "customer_id": client["id"],
                                   "service_period": {"start": "2026-11-01", "end": "2026-11-30"}}).body  # fmt: skip

    issued_page = text_of(api.get(f"/invoices/{issued['id']}/preview").body)
    draft_page = text_of(api.get(f"/invoices/{draft['id']}/preview").body)

    assert f"Date d'échéance 27/12/2026 {PRINTED}" in issued_page
    assert "Période du 01/11/2026 au 30/11/2026" in draft_page
