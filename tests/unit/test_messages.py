"""The SMS stays in the GSM alphabet and within two segments."""

from __future__ import annotations

import pytest

from invoicing.documents import messages
from invoicing.documents.view import invoice_view

pytestmark = pytest.mark.unit

TOTALS = {"subtotal": "1398.00", "discount": "0", "tax_breakdown": [], "tax_total": "0", "total": "1398.00"}


def view(business: str) -> dict:
    invoice = {"status": "open", "number": "INV-12", "currency": "EUR", "issue_date": "2026-11-27",
               "due_date": "2026-12-27", "lines": [], "totals": TOTALS, "amount_due": "1398.00",
               "business": {"legal_name": business}, "customer": {"name": "Client"}}  # fmt: skip
    return invoice_view(invoice, {}, None)


def test_the_sms_names_business_number_amount_due_date_and_link_in_gsm_characters():
    link = "https://pay.example/pay/" + "x" * 43

    text = messages.sms(view("Crêperie Bretonne"), link)

    assert text == f"Creperie Bretonne : facture INV-12, 1 398,00 € à régler avant le 27/12/2026. {link}"
    assert all(char in messages.GSM7 or char in messages.GSM7_EXTENDED for char in text)
    assert messages.septets(text) <= 160  # one segment


def test_a_very_long_business_name_is_shortened_to_keep_two_segments():
    link = "https://pay.example/pay/" + "x" * 43

    text = messages.sms(view("Société " + "Très Longue " * 40), link)

    assert messages.septets(text) <= 306
    assert text.endswith(link)
    assert "INV-12" in text


def test_a_euro_sign_is_never_split_across_two_segments():
    assert messages.segments("a" * 160) == 1
    assert messages.segments("a" * 306) == 2
    assert messages.segments("a" * 152 + "€" + "a" * 152) == 3  # the € cannot straddle: 152 + 155


def test_a_name_cannot_carry_a_line_break_into_an_email_header():
    from pydantic import ValidationError

    from invoicing.models.resources import BusinessIn

    with pytest.raises(ValidationError, match="one line"):
        BusinessIn(legal_name="Acme\r\nBcc: everyone@example.com")
    for breaking in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":  # all that str.splitlines() splits on
        with pytest.raises(ValidationError, match="one line"):
            BusinessIn(legal_name=f"Acme{breaking}SAS")
    assert BusinessIn(legal_name="Acme\tSAS — Société").legal_name == "Acme\tSAS — Société"
