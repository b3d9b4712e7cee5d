"""The typed document (domain.document): a stored document read back is
what the totals function computed, its groups add up to its totals, and its
parties are read as the law prints them."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.document import Address, Document, buyer_of, seller_of
from invoicing.domain.einvoice import legal_information, same_address
from invoicing.domain.invoice import CreditNote, Invoice, stored_groups
from invoicing.logic.totals import totals_of, totals_view

pytestmark = pytest.mark.unit

RATES = st.sampled_from(["20", "10", "5.5", "0"])
LINE = st.fixed_dictionaries(
    {
        "name": st.just("Journée"),
        "quantity": st.integers(1, 50).map(str),
        "unit_price": st.decimals(min_value=0, max_value=5_000, places=2).map(str),
        "taxes": RATES.map(lambda rate: [{"name": "TVA", "rate": rate}]),
    },
    optional={"discount": st.just({"type": "percentage", "value": "10"})},
)


def stored(lines, discount=None, **fields):
    """A document as the store keeps it: each line with its net, the totals as decimal strings."""
    totals = totals_of(lines, discount, "EUR")
    view = totals_view(totals)
    nets = view.pop("line_nets")
    with_nets = [{**line, "net": net} for line, net in zip(lines, nets, strict=True)]
    item = {"id": "inv_1", "currency": "EUR", "lines": with_nets, "totals": view, **fields}
    return item, totals


@settings(max_examples=60, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=12), st.sampled_from([None, {"type": "percentage", "value": "12.5"}]))
def test_a_stored_document_reads_back_the_totals_that_were_computed(lines, discount):
    item, computed = stored(lines, discount)

    document = Document.of(item)

    assert document.totals == computed
    assert document.total == computed.total
    assert [line.net for line in document.lines] == list(computed.line_nets)


@settings(max_examples=60, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=12))
def test_the_groups_add_up_to_the_totals_to_the_cent(lines):
    item, computed = stored(lines, {"type": "percentage", "value": "7"})

    groups = Document.of(item).groups()

    assert sum(group.base for group in groups) == computed.subtotal - computed.discount
    assert sum(group.tax for group in groups) == computed.tax_total
    assert len({group.taxes for group in groups}) == len(groups)


def test_an_invoice_keeps_what_its_credit_notes_took_group_by_group():
    lines = [
        {"name": "A", "quantity": "1", "unit_price": "100.00", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"name": "B", "quantity": "1", "unit_price": "50.00", "taxes": [{"name": "TVA", "rate": "5.5"}]},
    ]
    item, _ = stored(lines, status="open", issue_date="2026-11-02", number="INV-1")
    note_item, _ = stored(lines[:1], invoice_id="inv_1", number="AV-1")
    note = CreditNote.of({**note_item, "id": "cn_1"})

    invoice = Invoice.of({**item, "credited": "120.00", "credited_groups": stored_groups(note.groups())})

    assert [(group.taxes, group.base, group.tax) for group in invoice.groups_left()] == [
        ((("TVA", Decimal("20")),), Decimal("0.00"), Decimal("0.00")),
        ((("TVA", Decimal("5.5")),), Decimal("50.00"), Decimal("2.75")),
    ]
    assert invoice.left_to_credit == Decimal("52.75")
    assert (invoice.number, invoice.issue_date.isoformat(), note.invoice_id) == ("INV-1", "2026-11-02", "inv_1")


def test_the_seller_is_read_with_what_french_law_has_it_print():
    seller = seller_of(
        {"legal_name": "Acme", "name": "Acme Studio", "legal_form": "SAS", "share_capital": "10000",
         "trade_register": {"kind": "RCS", "city": "Paris"}, "siren": "732829320", "vat_franchise": False,
         "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}}
    )  # fmt: skip

    assert seller.name == "Acme"  # the legal name, not the trade name
    assert legal_information(seller) == "SAS au capital de 10 000 EUR, RCS Paris 732829320"
    assert seller.address == Address("1 rue de la Paix", None, "75002", "Paris", "FR")


def test_a_client_without_a_kind_or_an_address_is_a_business_in_france():
    client = buyer_of({"name": "Dupont"})

    assert (client.kind, client.country, client.address) == ("business", "FR", None)


def test_fields_sent_empty_are_the_same_place_as_fields_left_out():
    one = {"line1": "2 rue Neuve", "line2": "", "postal_code": "69001", "city": "Lyon", "country": "FR"}
    other = {"line1": "2 rue Neuve", "postal_code": "69001", "city": "Lyon", "country": "FR"}

    assert same_address(one, other)
    assert not same_address(one, {**other, "city": "Lille"})
