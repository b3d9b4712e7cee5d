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


# -- what a reader cannot see, and what is not one address (issue 19 §6, SPEC §15) --------

# Zero-width characters, bidi controls and other invisible format characters:
# a customer "Dupont\u200b" looks like "Dupont"; "facture\u202efdp.exe" reads "facture" + "exe.pdf" backwards.
INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width space, non-joiner, joiner, word joiner, BOM
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",  # isolates, LRM, RLM, ALM
    "\u00ad", "\u2062", "\u180e", "\U000e0041",  # soft hyphen, invisible times, Mongolian vowel separator, a tag
    "\u3164", "\u115f", "\u034f",  # Hangul fillers, the combining grapheme joiner: not Cf, as invisible
    "\x00", "\x07", "\x1b", "\x9b",  # controls
]  # fmt: skip


def names_in(value: str) -> list[tuple[type, dict, str]]:
    from invoicing.models.invoices import AttachmentIn
    from invoicing.models.resources import ProductIn
    from invoicing.models.templates import TemplateIn

    return [
        (CustomerIn, {"name": value}, "name"),
        (ProductIn, {"name": value, "unit_price": 1}, "name"),
        (InvoiceIn, {"name": value}, "name"),
        (InvoiceIn, {"name": "A", "lines": [{"name": value, "unit_price": 1}]}, "lines.0.name"),
        (InvoicePatch, {"name": value}, "name"),
        (TemplateIn, {"name": value}, "name"),
        (BusinessIn, {"legal_name": value}, "legal_name"),
        (AttachmentIn, {"filename": value + ".pdf", "content_type": "application/pdf", "size": 1}, "filename"),
    ]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda char: f"U+{ord(char):04X}")
def test_an_invisible_character_in_a_name_or_a_filename_is_refused_naming_the_field(char):
    for model, data, field in names_in(f"Dupont{char}Fils"):
        with pytest.raises(ValidationError) as raised:
            model.model_validate(data)
        assert fields_of(raised.value) == [field], model
        if field != "filename" or char >= " ":  # a filename's pattern refuses C0 controls first
            assert f"U+{ord(char):04X}" in raised.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    "name",
    ["Dupont & Fils", "Société Générale", "Ōsaka 大阪 商事", "Ελληνικά ΑΕ", "Müller\u00a0GmbH", "Café ☕", "❤️ Love"],
)
def test_names_in_any_script_with_their_spaces_and_emoji_are_taken(name):
    for model, data, _ in names_in(name):
        model.model_validate(data)


def test_the_invisible_characters_refused_are_every_format_and_control_character_python_knows_but_tab():
    import sys
    import unicodedata

    from invoicing.models.common import invisible_character

    refused = {chr(code) for code in range(sys.maxunicode + 1) if invisible_character(chr(code))}
    known = {chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in ("Cf", "Cc")}
    known.discard("\t")  # a space to a reader, and to the names' uniqueness (Acme\tSAS is Acme SAS)
    assert known <= refused, sorted(f"U+{ord(char):04X}" for char in known - refused)
    assert {f"U+{ord(char):04X}" for char in refused - known} == {
        "U+034F", "U+115F", "U+1160", "U+2800", "U+3164", "U+FFA0"  # invisible, though not Cf
    }  # fmt: skip


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example,c",  # two addresses to a parser that splits on commas
        "evil<a@b.example>",  # a display name and another address
        "Evil <a@b.example>",
        '"a b"@b.example',  # a quoted local part
        "a b@b.example",
        "a\t@b.example",
        "a@b.example\r\nBcc: c@d.example",
        "a@@b.example",
        "a@b@c.example",
        ".a@b.example",
        "a.@b.example",
        "a..b@b.example",
        "a@b",  # no top-level domain
        "a@b.c",  # a one-letter one
        "a@b.123",  # an IP address's last number
        "a@[192.0.2.1]",
        "a@-b.example",
        "a@b-.example",
        "a@b..example",
        "a@" + "b" * 64 + ".example",  # a label over 63
        "a" * 65 + "@b.example",  # a local part over 64
        "é@b.example",  # no SMTPUTF8: SES takes ASCII local parts
        "a@exa\u200bmple.com",  # IDNA would drop the zero-width space: a look-alike of example.com
        "a@ｅxample.com",  # full-width: IDNA maps it to example.com
        "=?utf-8?q?admin?=@b.example",  # an encoded word, which some clients show decoded
        "a@b.example>",
        "<a@b.example",
        "a;b@b.example",
        "a(comment)@b.example",
        "a\\b@b.example",
    ],
)
def test_an_email_address_is_one_bare_address_or_it_is_refused(address):
    with pytest.raises(ValidationError) as raised:
        CustomerIn(name="A", email=address)
    assert fields_of(raised.value) == ["email"]


@pytest.mark.parametrize(
    "address",
    ["compta@dupont.example", "Jean.Dupont+factures@Dupont.FR", "o'brien@b.example", "a_b-c@sub.b.example",
     "x@b.co", "a@xn--bcher-kva.example", "a@bücher.example", "a!#$%&'*+/=^_`{|}~?-@b.example",
     "factures@invoicing.local"],
)  # fmt: skip
def test_ordinary_addresses_are_taken_as_written(address):
    assert CustomerIn(name="A", email=address).email == address


def test_a_negative_price_is_a_deposit_deduction_s_only():
    """A final invoice's deductions, sent back as read, pass; no other line
    may take off."""
    deduction = {"name": "Acompte F-12 du 05/01/2027", "unit_price": "-250.00", "deposit_invoice_id": "inv_1"}
    assert InvoicePatch(lines=[{"name": "Pose", "unit_price": "10"}, deduction]).lines[1].unit_price == -250

    with pytest.raises(ValidationError) as raised:
        InvoiceIn(name="A", lines=[{"name": "Pose", "unit_price": "10"}, {"name": "Remise", "unit_price": "-5"}])

    assert fields_of(raised.value) == ["lines"]
    assert "lines.1.unit_price is below 0" in raised.value.errors()[0]["msg"]
