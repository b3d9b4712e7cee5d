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


@pytest.mark.parametrize(
    ("name", "lang", "said"),
    [
        ("Acme SAS", "fr", "d'Acme SAS"),
        ("Éditions Dupuis", "fr", "d'Éditions Dupuis"),
        ("Hermès", "fr", "d'Hermès"),  # a mute h
        ("Hollande Services", "fr", "de Hollande Services"),  # an aspirated h
        ("Hautes Alpes Bois", "fr", "de Hautes Alpes Bois"),
        ("Yvelines Conseil", "fr", "d'Yvelines Conseil"),
        ("Yaourts du Pays", "fr", "de Yaourts du Pays"),  # y before a vowel
        ("Dupont & Fils", "fr", "de Dupont & Fils"),
        ("3M France", "fr", "de 3M France"),
        ("Acme SAS", "en", "from Acme SAS"),
    ],
)
def test_french_messages_elide_de_before_a_vowel_or_a_mute_h(name, lang, said):
    assert messages.of_business(name, lang) == said


def test_the_subject_of_an_invoice_from_acme_reads_d_acme():
    mime = messages.email(view("Acme SAS"), "https://pay.example/x", "f@x.example", "c@x.example", b"%PDF", "f.pdf")

    assert "Subject: Facture INV-12 d'Acme SAS" in mime.decode()


@pytest.mark.parametrize(
    ("name", "form", "shown"),
    [
        ("Acme", "SAS", "Acme SAS"),
        ("Acme SAS", "SAS", "Acme SAS"),
        ("ACME sas", "SAS", "ACME sas"),
        ("Jeanne Martin", "EI", "Jeanne Martin EI"),
        ("Jeanne Martin, entrepreneur individuel", "EI", "Jeanne Martin, entrepreneur individuel"),
        ("Les Amis du Rail", "association", "Les Amis du Rail"),
        ("Acme", None, "Acme"),
    ],
)
def test_a_name_is_printed_with_its_legal_form_once(name, form, shown):
    from invoicing.documents.view import display_name

    assert display_name(name, form) == shown
