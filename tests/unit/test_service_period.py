"""The service period an invoice bills (SPEC §12, a recurring invoice's
month): checked by its wire model, printed by the view-model every
rendering shows, and carried in the Factur-X data as the EN 16931
invoicing period (BG-14), valid against the XSD and the schematron."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pypdf
import pytest
from pydantic import ValidationError

from invoicing.documents.facturx import cii_xml
from invoicing.documents.view import estimate_view, invoice_view
from invoicing.domain import einvoice
from invoicing.models.invoices import InvoiceIn, InvoicePatch
from tests.einvoice_rules import french_ctc_failures, schematron_failures, xsd_errors
from tests.samples import issued_invoice
from tests.unit.test_cii_writer import assert_written_as_the_library_writes
from tests.unit.test_einvoice import NOTES, document, values, vat

pytestmark = pytest.mark.unit

JANUARY = {"start": "2027-01-01", "end": "2027-01-31"}
PERIOD = "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod"
DELIVERY_DATE = "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"


def subscription(**fields: Any) -> dict[str, Any]:
    """An issued invoice of one month's subscription, as the store keeps it."""
    doc = document([{"name": "Abonnement", "quantity": "1", "unit": "mois", "unit_price": "49.00",
                     "taxes": vat("20")}])  # fmt: skip
    return {**doc, "issue_date": "2027-02-01", "due_date": "2027-03-03", **fields}


def xml_of(doc: dict[str, Any]) -> bytes:
    return cii_xml(einvoice.cii_data(doc, notes=NOTES, payment_terms="Paiement à régler au plus tard le 03/03/2027."))


# -- the wire model ---------------------------------------------------------------------------------


def test_given_a_period_ending_before_it_starts_when_validated_then_the_error_names_its_end():
    with pytest.raises(ValidationError) as raised:
        InvoiceIn.model_validate({"name": "Janvier", "service_period": {"start": "2027-01-31", "end": "2027-01-01"}})

    (error,) = raised.value.errors()
    assert error["loc"] == ("service_period", "end")
    assert "2027-01-31" in error["msg"]


def test_given_a_one_day_period_when_validated_then_it_is_kept_as_dates():
    invoice = InvoiceIn.model_validate(
        {"name": "Un jour", "service_period": {"start": "2027-01-05", "end": "2027-01-05"}}
    )

    assert invoice.service_period is not None
    assert (invoice.service_period.start, invoice.service_period.end) == (date(2027, 1, 5), date(2027, 1, 5))


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ({"start": "2027-01-01"}, "service_period.end"),
        ({"end": "2027-01-31"}, "service_period.start"),
        ({"start": "2027-02-30", "end": "2027-03-01"}, "service_period.start"),
        ({**JANUARY, "days": 31}, "service_period.days"),
    ],
)
def test_given_a_period_missing_a_day_or_with_a_wrong_one_when_validated_then_that_field_is_named(period, field):
    with pytest.raises(ValidationError) as raised:
        InvoicePatch.model_validate({"service_period": period})

    assert [".".join(map(str, error["loc"])) for error in raised.value.errors()] == [field]


def test_given_a_patch_when_it_sets_the_period_to_null_then_it_says_so():
    patch = InvoicePatch.model_validate({"service_period": None})

    assert "service_period" in patch.model_fields_set
    assert patch.service_period is None


# -- what the documents print ----------------------------------------------------------------------


def test_given_a_period_when_viewed_in_french_then_it_reads_periode_du_au():
    invoice, _ = issued_invoice(1)

    view = invoice_view({**invoice, "service_period": JANUARY}, {}, None)

    assert view["service_period"] == "Période du 01/01/2027 au 31/01/2027"
    assert view["service_date"] is None


def test_given_a_period_when_viewed_in_english_then_it_reads_period_from_to():
    invoice, _ = issued_invoice(1)
    english = {**invoice, "business": {**invoice["business"], "locale": "en"}, "service_period": JANUARY}

    assert invoice_view(english, {}, None)["service_period"] == "Period from 1/1/27 to 1/31/27"


def test_given_no_period_when_viewed_then_nothing_is_printed_for_it():
    _, view = issued_invoice(1)

    assert view["service_period"] is None


def test_given_a_period_and_a_service_date_when_viewed_then_both_are_printed():
    invoice, _ = issued_invoice(1)

    view = invoice_view({**invoice, "service_date": "2027-01-20", "service_period": JANUARY}, {}, None)

    assert view["service_date"] == "20/01/2027"
    assert view["service_period"] == "Période du 01/01/2027 au 31/01/2027"


def test_given_a_period_when_rendered_then_the_pdf_prints_it_among_the_dates_as_one_sentence():
    from invoicing.documents.pdf import render_pdf

    invoice, _ = issued_invoice(1)
    data = render_pdf(invoice_view({**invoice, "service_period": JANUARY}, {}, None))

    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    dates = [line.strip() for line in text.splitlines() if "2026" in line or "2027" in line][:3]
    assert dates == [
        "Date d'émission : 27/11/2026",
        "Période du 01/01/2027 au 31/01/2027",
        "Date d'échéance : 27/12/2026",
    ]


def test_given_an_estimate_when_viewed_then_it_prints_no_period():
    invoice, _ = issued_invoice(1)
    estimate = {**invoice, "status": "sent", "valid_until": "2026-12-27", "service_period": JANUARY}

    assert estimate_view(estimate)["service_period"] is None


# -- the Factur-X data (EN 16931 BG-14) ------------------------------------------------------------


def test_given_a_period_when_made_e_invoice_data_then_it_is_bt_73_to_bt_74_without_a_delivery_date():
    data = einvoice.cii_data(subscription(service_period=JANUARY))

    assert (data["BT-73"], data["BT-74"]) == (date(2027, 1, 1), date(2027, 1, 31))
    assert "BT-72" not in data  # the issue date, 1 February, is no day of January's service


def test_given_a_period_and_a_service_date_when_made_e_invoice_data_then_both_are_said():
    data = einvoice.cii_data(subscription(service_period=JANUARY, service_date="2027-01-20"))

    assert (data["BT-72"], data["BT-73"], data["BT-74"]) == (date(2027, 1, 20), date(2027, 1, 1), date(2027, 1, 31))


def test_given_no_period_when_made_e_invoice_data_then_the_delivery_date_is_the_issue_date_as_before():
    data = einvoice.cii_data(subscription())

    assert data["BT-72"] == date(2027, 2, 1)
    assert "BT-73" not in data
    assert "BT-74" not in data


def test_given_a_period_when_written_as_cii_then_it_is_the_billing_period_and_passes_the_rules():
    xml = xml_of(subscription(service_period=JANUARY))

    assert values(xml, f"{PERIOD}/ram:StartDateTime/udt:DateTimeString") == ["20270101"]
    assert values(xml, f"{PERIOD}/ram:StartDateTime/udt:DateTimeString/@format") == ["102"]
    assert values(xml, f"{PERIOD}/ram:EndDateTime/udt:DateTimeString") == ["20270131"]
    assert values(xml, DELIVERY_DATE) == []
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert french_ctc_failures(xml) == []


def test_given_a_period_and_a_service_date_when_written_then_the_library_writes_the_same_and_the_rules_pass():
    doc = subscription(service_period=JANUARY, service_date="2027-01-20")
    xml = xml_of(doc)

    assert values(xml, DELIVERY_DATE) == ["20270120"]
    assert values(xml, f"{PERIOD}/ram:EndDateTime/udt:DateTimeString") == ["20270131"]
    assert schematron_failures(xml) == []
    # the factur-x library, element for element (it cannot write a period alone: it marks the empty
    # delivery nil, which its own schema refuses; our empty ApplicableHeaderTradeDelivery passes it)
    assert_written_as_the_library_writes(einvoice.cii_data(doc, notes=NOTES))


def test_given_a_period_ending_before_it_starts_when_written_then_br_29_fails():
    data = einvoice.cii_data(subscription(service_period={"start": "2027-01-31", "end": "2027-01-01"}), notes=NOTES)

    assert {failure.rule for failure in schematron_failures(cii_xml(data))} == {"BR-29"}
