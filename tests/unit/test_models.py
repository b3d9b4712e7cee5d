"""Wire models: French identifiers, phones, limits, and fields a client may
send back but never sets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from invoicing.models.invoices import InvoiceIn, InvoicePatch
from invoicing.models.resources import BusinessIn, CustomerIn

pytestmark = pytest.mark.unit


def fields_of(error: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in error.errors()]


def test_siren_needs_nine_digits_and_a_valid_luhn_key():
    assert BusinessIn(legal_name="A", siren="732 829 320").siren == "732829320"
    with pytest.raises(ValidationError) as raised:
        BusinessIn(legal_name="A", siren="732829321")
    assert fields_of(raised.value) == ["siren"]


def test_french_vat_number_key_must_match_its_siren():
    assert BusinessIn(legal_name="A", vat_number="fr 44 732829320").vat_number == "FR44732829320"
    with pytest.raises(ValidationError) as raised:
        BusinessIn(legal_name="A", vat_number="FR45732829320")
    assert fields_of(raised.value) == ["vat_number"]
    assert BusinessIn(legal_name="A", vat_number="DE123456789").vat_number == "DE123456789"


def test_phones_are_normalized_to_e164():
    assert CustomerIn(name="A", phone="+33 6 12 34 56 78").phone == "+33612345678"
    with pytest.raises(ValidationError) as raised:
        CustomerIn(name="A", phone="06 12 34 56 78")
    assert fields_of(raised.value) == ["phone"]


def test_unknown_fields_are_named():
    with pytest.raises(ValidationError) as raised:
        CustomerIn(name="A", nmae="typo")
    assert fields_of(raised.value) == ["nmae"]


def test_computed_fields_sent_back_by_a_client_are_ignored():
    invoice = InvoiceIn.model_validate(
        {
            "name": "A",
            "totals": {"total": "1.00"},
            "status": "paid",
            "lines": [{"name": "x", "unit_price": 1, "net": "9"}],
        }
    )
    assert invoice.name == "A"
    assert "totals" not in invoice.model_dump()


def test_limits_name_their_field():
    with pytest.raises(ValidationError) as raised:
        InvoiceIn.model_validate({"name": "A", "lines": [{"name": "x", "unit_price": 1}] * 1001})
    assert fields_of(raised.value) == ["lines"]
    with pytest.raises(ValidationError) as raised:
        InvoicePatch.model_validate({"notes": "x" * 5001})
    assert fields_of(raised.value) == ["notes"]


def test_a_line_carries_each_tax_once_and_percentages_stay_within_100():
    with pytest.raises(ValidationError):
        InvoiceIn.model_validate(
            {"name": "A", "lines": [{"name": "x", "unit_price": 1, "taxes": [{"name": "TVA", "rate": 20}] * 2}]}
        )
    with pytest.raises(ValidationError) as raised:
        InvoiceIn.model_validate({"name": "A", "discount": {"type": "percentage", "value": 101}})
    assert fields_of(raised.value) == ["discount"]
