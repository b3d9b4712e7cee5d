"""Credit notes (avoirs, SPEC §6.1): issued on an issued invoice, numbered in
their own gap-free series, taken off what the invoice asks, listed on it, and
rendered as Factur-X type 381. Voiding an invoice credits what is left of it."""

from __future__ import annotations

import io
from decimal import Decimal
from uuid import uuid4

import facturx
import pypdf
import pytest
from lxml import etree

from tests.conftest import BUSINESS, SPEC_INVOICE
from tests.einvoice_rules import schematron_failures, xsd_errors

pytestmark = pytest.mark.integration

RETURNED = {
    "name": "Journée annulée",
    "quantity": "1",
    "unit_price": "450.00",
    "taxes": [{"name": "TVA", "rate": "20"}],
}


def credit(api, invoice_id: str, body: dict, **kw):
    return api.post(f"/invoices/{invoice_id}/credit-notes", body, **kw)


def pdf_of_credit_note(credit_note_id: str) -> bytes:
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    assert deps().blobs is not None
    _, key = documents.store_credit_note_pdf(deps(), "acme", credit_note_id)
    return deps().blobs.read(key)


def cii(xml: bytes, path: str) -> list[str]:
    ns = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
          "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}  # fmt: skip
    return [node.text for node in etree.fromstring(xml).xpath(path, namespaces=ns)]


def test_a_credit_note_of_lines_is_numbered_apart_and_taken_off_the_invoice(api, issued):
    reply = credit(api, issued["id"], {"lines": [RETURNED], "reason": "Journée annulée par le client"})

    assert reply.status == 201, reply.body
    note = reply.body
    assert (note["number"], note["invoice_id"], note["invoice_number"]) == ("AV-1", issued["id"], "INV-1")
    assert note["total"] == note["totals"]["total"] == "540.00"
    assert note["totals"]["tax_breakdown"] == [{"name": "TVA", "rate": "20", "base": "450.00", "tax": "90.00"}]
    assert note["issue_date"] >= issued["issue_date"]
    assert reply.headers["Location"].endswith(f"/credit-notes/{note['id']}")
    invoice = api.get(f"/invoices/{issued['id']}").body
    assert invoice["credited"] == "540.00"
    assert invoice["amount_due"] == "858.00"  # 1,398.00 − 540.00
    assert invoice["status"] == "open"
    assert invoice["totals"] == issued["totals"]  # the invoice itself never changes
    assert invoice["credit_notes"] == [
        {"id": note["id"], "number": "AV-1", "total": "540.00", "issue_date": note["issue_date"]}
    ]
    assert api.get(f"/credit-notes/{note['id']}").body == note


def test_an_amount_tax_included_is_split_into_base_and_vat_at_the_invoice_rate(api, issued):
    reply = credit(api, issued["id"], {"amount": "120.00"})

    assert reply.status == 201, reply.body
    assert reply.body["totals"]["tax_breakdown"][0] | {"name": "TVA"} == {
        "name": "TVA", "rate": "20", "base": "100.00", "tax": "20.00"}  # fmt: skip
    assert reply.body["total"] == "120.00"
    assert api.get(f"/invoices/{issued['id']}").body["amount_due"] == "1278.00"


def test_an_amount_no_base_can_make_is_refused_with_the_nearest_that_can(api, issued):
    # at 20 %: a base of 0.42 makes 0.50, 0.43 makes 0.52; nothing makes 0.51
    reply = credit(api, issued["id"], {"amount": "0.51"})

    assert reply.status == 422
    assert reply.error_fields == ["amount"]
    assert "0.50 or 0.52" in str(reply.body)
    assert api.get(f"/invoices/{issued['id']}").body["credit_notes"] == []


def test_no_credit_note_exceeds_what_the_invoice_has_left(api, issued):
    assert credit(api, issued["id"], {"amount": "1000.00"}).status == 201

    reply = credit(api, issued["id"], {"amount": "398.40"})

    assert reply.status == 422
    assert reply.error_fields == ["amount"]
    assert "398.00" in str(reply.body)
    invoice = api.get(f"/invoices/{issued['id']}").body
    assert (invoice["credited"], len(invoice["credit_notes"])) == ("1000.00", 1)


def test_credit_notes_for_the_whole_invoice_void_it(api, issued):
    assert credit(api, issued["id"], {"amount": "398.00"}).status == 201
    assert credit(api, issued["id"], {"amount": "1000.00"}).status == 201

    invoice = api.get(f"/invoices/{issued['id']}").body
    assert (invoice["status"], invoice["credited"], invoice["amount_due"]) == ("void", "1398.00", "0.00")
    assert [note["number"] for note in invoice["credit_notes"]] == ["AV-1", "AV-2"]
    assert credit(api, issued["id"], {"amount": "1.00"}).status == 409  # a void invoice asks nothing more


def test_bad_requests_say_which_field(api, issued):
    cases = [
        ({}, ["body"]),
        ({"amount": "10.00", "lines": [RETURNED]}, ["body"]),
        ({"amount": "-5"}, ["amount"]),
        ({"lines": []}, ["body"]),
        ({"lines": [{"quantity": "1"}]}, ["lines.0.name", "lines.0.unit_price"]),
    ]
    for body, fields in cases:
        reply = credit(api, issued["id"], body)
        assert reply.status == 422, (body, reply.body)
        assert sorted(reply.error_fields) == fields, (body, reply.body)
    assert api.get(f"/invoices/{issued['id']}").body["credit_notes"] == []


def test_a_draft_is_edited_not_credited(api, business, draft):
    reply = credit(api, draft["id"], {"amount": "10.00"})

    assert reply.status == 409
    assert "draft" in str(reply.body)


def test_voiding_credits_the_whole_invoice_once(api, issued):
    first = api.post(f"/invoices/{issued['id']}/void")
    second = api.post(f"/invoices/{issued['id']}/void")

    assert first.status == 200, first.body
    assert second.status == 409
    invoice = api.get(f"/invoices/{issued['id']}").body
    assert (invoice["status"], invoice["credited"]) == ("void", "1398.00")
    (ref,) = invoice["credit_notes"]
    note = api.get(f"/credit-notes/{ref['id']}").body
    assert note["number"] == "AV-1"
    # the invoice itself, line for line, with its discount
    assert [line["name"] for line in note["lines"]] == ["Développement"]
    assert note["totals"] == {key: value for key, value in issued["totals"].items() if key != "line_nets"}
    assert note["reason"] == "Annulation de la facture"


def test_voiding_after_a_partial_credit_credits_what_each_rate_has_left(api, issued):
    assert credit(api, issued["id"], {"lines": [RETURNED]}).status == 201

    assert api.post(f"/invoices/{issued['id']}/void").status == 200

    invoice = api.get(f"/invoices/{issued['id']}").body
    assert invoice["credited"] == "1398.00"
    rest = api.get(f"/credit-notes/{invoice['credit_notes'][1]['id']}").body
    assert rest["totals"]["tax_breakdown"] == [{"name": "TVA", "rate": "20", "base": "715.00", "tax": "143.00"}]
    assert rest["lines"][0]["name"] == "Solde de la facture INV-1"


def test_the_series_is_the_businesss_and_invoices_keep_theirs(api, issued, customer):
    assert api.patch("/business", {"credit_note_prefix": "AVOIR-2026-"}).status == 200
    assert credit(api, issued["id"], {"amount": "12.00"}).body["number"] == "AVOIR-2026-1"
    assert credit(api, issued["id"], {"amount": "24.00"}).body["number"] == "AVOIR-2026-2"
    second = api.post("/invoices", {**SPEC_INVOICE, "name": "Deuxième", "customer_id": customer["id"]}).body

    assert api.post(f"/invoices/{second['id']}/mark-sent").body["number"] == "INV-2"


def test_a_credit_note_number_never_takes_an_invoice_number(api, issued, customer):
    same = api.patch("/business", {"credit_note_prefix": "INV-"})
    assert (same.status, same.error_fields) == (422, ["credit_note_prefix"])
    assert [credit(api, issued["id"], {"amount": "12.00"}).body["number"] for _ in range(2)] == ["AV-1", "AV-2"]
    # the series swap prefixes later: the next invoice, which would be AV-2, is refused, nothing consumed
    assert api.patch("/business", {"invoice_number_prefix": "AV-", "credit_note_prefix": "A-"}).status == 200
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": "Deuxième", "customer_id": customer["id"]}).body

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 409
    assert "AV-2" in str(reply.body)
    assert api.get(f"/invoices/{draft['id']}").body["status"] == "draft"


def test_payments_after_a_credit_note_ask_only_the_rest(api, issued):
    assert credit(api, issued["id"], {"lines": [RETURNED]}).status == 201

    over = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "858.01"})
    paid = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "858.00"})

    assert over.status == 409
    assert paid.status == 201, paid.body
    assert api.get(f"/invoices/{issued['id']}").body["status"] == "paid"


def test_a_paid_invoice_can_be_credited_and_shows_what_to_give_back(api, issued):
    assert api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "1398.00"}).status == 201

    assert credit(api, issued["id"], {"lines": [RETURNED]}).status == 201

    invoice = api.get(f"/invoices/{issued['id']}").body
    assert (invoice["status"], invoice["amount_due"], invoice["amount_overpaid"]) == ("paid", "0.00", "540.00")


def test_the_same_idempotency_key_issues_one_credit_note(api, issued):
    headers = {"Idempotency-Key": "refund-42"}
    first = credit(api, issued["id"], {"amount": "120.00"}, headers=headers)
    again = credit(api, issued["id"], {"amount": "120.00"}, headers=headers)

    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert len(api.get(f"/invoices/{issued['id']}").body["credit_notes"]) == 1


def test_another_tenants_credit_notes_are_not_found(api, issued):
    note = credit(api, issued["id"], {"amount": "120.00"}).body

    assert credit(api, issued["id"], {"amount": "12.00"}, tenant="globex").status == 404
    assert api.get(f"/credit-notes/{note['id']}", tenant="globex").status == 404
    assert api.get(f"/credit-notes/{note['id']}/pdf", tenant="globex").status == 404
    assert api.post(f"/invoices/{issued['id']}/void", tenant="globex").status == 404
    assert api.get(f"/invoices/{issued['id']}").body["credit_notes"][0]["id"] == note["id"]


def test_the_credit_note_pdf_is_factur_x_type_381_naming_the_invoice(api, issued):
    note = credit(api, issued["id"], {"lines": [RETURNED], "reason": "Retour"}).body

    link = api.get(f"/credit-notes/{note['id']}/pdf")
    data = pdf_of_credit_note(note["id"])

    assert link.status == 200, link.body
    assert f"credit-notes/{note['id']}.pdf" in link.body["url"]
    text = " ".join(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert "Avoir N° AV-1" in text
    assert "Facture d'origine : INV-1 du 27/11/2026" in text
    assert "540,00" in text
    filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    assert filename == "factur-x.xml"
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert cii(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert cii(xml, "//rsm:ExchangedDocument/ram:ID") == ["AV-1"]
    assert cii(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["INV-1"]
    assert cii(xml, "//ram:GrandTotalAmount") == [note["total"]]


def test_the_invoice_pdf_carries_the_stored_invoice_as_factur_x(api, issued):
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    data = documents.pdf(deps(), "acme", issued["id"])
    filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)

    assert filename == "factur-x.xml"
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert cii(xml, "//rsm:ExchangedDocument/ram:ID") == [issued["number"]]
    assert cii(xml, "//ram:GrandTotalAmount") == [issued["totals"]["total"]]
    assert cii(xml, "//ram:TaxTotalAmount") == [issued["totals"]["tax_total"]]
    assert cii(xml, "//ram:AllowanceTotalAmount") == [issued["totals"]["discount"]]
    assert [Decimal(v) for v in cii(xml, "//ram:SpecifiedLineTradeSettlement//ram:LineTotalAmount")] == [
        Decimal(line["net"]) for line in issued["lines"]
    ]


def test_a_draft_pdf_carries_no_invoice_data(api, draft, business):
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    data = documents.pdf(deps(), "acme", draft["id"])

    assert "/EmbeddedFiles" not in str(pypdf.PdfReader(io.BytesIO(data)).trailer["/Root"])


def issue_lines(api, customer, lines, **extra) -> dict:
    draft = api.post("/invoices", {"name": f"Facture {uuid4().hex}", "customer_id": customer["id"],
                                   "lines": lines, **extra})  # fmt: skip
    assert draft.status == 201, draft.body
    issued = api.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert issued.status == 200, issued.body
    return issued.body


def at(rate: str, price: str, name: str = "Prestation", **extra) -> dict:
    return {"name": name, "quantity": "1", "unit_price": price, "taxes": [{"name": "TVA", "rate": rate}], **extra}


def test_no_rate_is_credited_beyond_what_the_invoice_charged_at_it(api, business, customer):
    invoice = issue_lines(api, customer, [at("20", "100.00"), at("5.5", "100.00")])  # 120.00 + 105.50

    too_much = credit(api, invoice["id"], {"lines": [at("20", "150.00")]})
    other_rate = credit(api, invoice["id"], {"lines": [at("10", "50.00")]})
    other_name = credit(
        api, invoice["id"], {"lines": [{**at("20", "10.00"), "taxes": [{"name": "VAT", "rate": "20"}]}]}
    )

    assert (too_much.status, too_much.error_fields) == (422, ["lines"])
    assert "100.00 left" in str(too_much.body) or "has 100.00 left" in str(too_much.body)
    assert (other_rate.status, other_rate.error_fields) == (422, ["lines.0.taxes"])
    assert (other_name.status, other_name.error_fields) == (422, ["lines.0.taxes"])
    assert credit(api, invoice["id"], {"lines": [at("20", "100.00")]}).status == 201
    # the 20 % part is all credited: an amount now falls on the 5.5 % part alone
    rest = credit(api, invoice["id"], {"amount": "105.50"})
    assert rest.status == 201, rest.body
    assert [(e["rate"], e["base"]) for e in rest.body["totals"]["tax_breakdown"]] == [("5.5", "100.00")]
    after = api.get(f"/invoices/{invoice['id']}").body
    assert (after["status"], after["credited"], after["amount_due"]) == ("void", "225.50", "0.00")


def test_a_line_with_two_taxes_is_credited_and_voided_to_the_cent(api, business, customer):
    both = {**at("20", "100.00"), "taxes": [{"name": "TVA", "rate": "20"}, {"name": "Accise", "rate": "1"}]}
    invoice = issue_lines(api, customer, [both])  # 121.00

    assert credit(api, invoice["id"], {"amount": "10.00"}).status == 201
    assert api.post(f"/invoices/{invoice['id']}/void").status == 200

    after = api.get(f"/invoices/{invoice['id']}").body
    assert (after["credited"], after["amount_due"], after.get("amount_overpaid", "0.00")) == ("121.00", "0.00", "0.00")


def test_voiding_after_a_credit_credits_the_total_to_the_cent_with_a_rounding_line_if_need_be(api, business, customer):
    invoice = issue_lines(api, customer, [at("20", "100.06")])  # 100.06 + 20.01 = 120.07
    assert credit(api, invoice["id"], {"lines": [at("20", "50.03")]}).body["total"] == "60.04"  # 50.03 + 10.01

    voided = api.post(f"/invoices/{invoice['id']}/void").body

    # 60.03 is left: 50.03 makes 60.04, 50.02 makes 60.02; the cent apart, untaxed
    rest = api.get(f"/credit-notes/{voided['credit_notes'][1]['id']}").body
    assert [(line["name"], line["net"]) for line in rest["lines"]] == [
        ("Solde de la facture INV-1", "50.02"),
        ("Écart d'arrondi de TVA", "0.01"),
    ]
    assert rest["total"] == "60.03"
    assert rest["totals"]["tax_total"] == "10.00"  # with the 10.01 credited before: the 20.01 charged
    assert (voided["credited"], voided["amount_due"]) == ("120.07", "0.00")
    _, xml = facturx.get_xml_from_pdf(pdf_of_credit_note(rest["id"]), check_xsd=False)
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert cii(xml, "//ram:GrandTotalAmount") == ["60.03"]


def test_a_credit_note_credits_something(api, issued):
    cases = [
        ({"lines": [{**RETURNED, "unit_price": "0"}]}, ["lines.0"]),
        ({"lines": [{**RETURNED, "quantity": "0"}]}, ["lines.0"]),
        ({"amount": "0.001"}, ["amount"]),
        ({"amount": "12.005"}, ["amount"]),
    ]
    for body, fields in cases:
        reply = credit(api, issued["id"], body)
        assert (reply.status, reply.error_fields) == (422, fields), (body, reply.body)
    assert api.get(f"/invoices/{issued['id']}").body["credit_notes"] == []


def test_instalments_ask_less_once_credited_from_the_last_back(api, business, customer):
    schedule = {"type": "percentage", "instalments": [{"due_date": "2026-12-27", "value": "50"},
                                                      {"due_date": "2027-01-27", "value": "50"}]}  # fmt: skip
    invoice = issue_lines(
        api, customer, [at("20", "1000.00")], payment_schedule=schedule, due_date="2027-01-27"
    )  # 1,200.00

    assert credit(api, invoice["id"], {"amount": "600.00"}).status == 201

    after = api.get(f"/invoices/{invoice['id']}").body
    assert [(i["amount_due"], i["status"]) for i in after["payment_schedule"]["instalments"]] == [
        ("600.00", "pending"),
        ("0.00", "paid"),
    ]
    assert after["amount_due"] == "600.00"


def test_a_credit_note_that_settles_a_part_paid_invoice_makes_it_paid_and_announces_it(api, issued):
    assert api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "858.00"}).status == 201
    api.deliver_events()

    assert credit(api, issued["id"], {"lines": [RETURNED]}).status == 201

    assert api.get(f"/invoices/{issued['id']}").body["status"] == "paid"
    delivered = api.deliver_events()
    assert ("delivery", {"sent": 1, "failed": 0, "skipped": 0}) in delivered  # the client's receipt


def test_the_documents_pass_the_french_reform_rules(api, issued):
    from invoicing.adapters.live import deps
    from invoicing.logic import documents
    from tests.einvoice_rules import french_ctc_failures

    note = credit(api, issued["id"], {"lines": [RETURNED]}).body
    _, invoice_xml = facturx.get_xml_from_pdf(documents.pdf(deps(), "acme", issued["id"]), check_xsd=False)
    _, note_xml = facturx.get_xml_from_pdf(pdf_of_credit_note(note["id"]), check_xsd=False)

    # BR-FR-12 included: a French business client's SIREN is required to issue, and is its electronic address
    assert french_ctc_failures(invoice_xml) == []
    assert french_ctc_failures(note_xml) == []


def void_closes(api, invoice_id: str) -> dict:
    """Void the invoice; the credit notes add up to its total to the cent."""
    assert api.post(f"/invoices/{invoice_id}/void").status == 200
    after = api.get(f"/invoices/{invoice_id}").body
    notes = [api.get(f"/credit-notes/{ref['id']}").body for ref in after["credit_notes"]]
    assert (
        sum(Decimal(note["total"]) for note in notes) == Decimal(after["credited"]) == Decimal(after["totals"]["total"])
    )
    assert (after["status"], after["amount_due"], after["amount_overpaid"]) == ("void", "0.00", "0.00")
    return {"invoice": after, "notes": notes}


def credited_bases(notes: list[dict]) -> dict[str, Decimal]:
    bases: dict[str, Decimal] = {}
    for note in notes:
        for entry in note["totals"]["tax_breakdown"]:
            bases[entry["rate"]] = bases.get(entry["rate"], Decimal(0)) + Decimal(entry["base"])
    return bases


def test_lines_credited_one_by_one_then_void_close_the_total_and_no_rate_gets_more_base(api, business, customer):
    days = [at("20", "10.03", "Jour 1"), at("20", "10.03", "Jour 2")]
    invoice = issue_lines(api, customer, [*days, at("5.5", "50.10", "Livre")])  # VAT 4.01 on 20.06, 2.76 on 50.10
    for day in days:
        assert credit(api, invoice["id"], {"lines": [day]}).body["total"] == "12.04"  # 2.01 VAT each: rounding

    closed = void_closes(api, invoice["id"])

    assert credited_bases(closed["notes"]) == {"20": Decimal("20.06"), "5.5": Decimal("50.10")}
    assert closed["invoice"]["credited"] == "76.93"


def test_a_tax_shared_by_a_line_with_two_taxes_is_credited_by_lines_and_closes_to_the_cent(api, business, customer):
    both = {**at("20", "10.03"), "taxes": [{"name": "TVA", "rate": "20"}, {"name": "Taxe éco", "rate": "1"}]}
    for price in ("10.03", "10.02"):
        invoice = issue_lines(api, customer, [{**both, "unit_price": price}, at("20", price, "Sans")])
        by_amount = credit(api, invoice["id"], {"amount": "1.20"})
        assert (by_amount.status, by_amount.error_fields) == (422, ["amount"])
        assert credit(api, invoice["id"], {"lines": [at("20", "5.01", "Sans")]}).status == 201

        void_closes(api, invoice["id"])


def test_the_invoice_prefix_cannot_take_the_credit_notes_default(api):
    reply = api.put("/business", {**BUSINESS, "invoice_number_prefix": "av-"})

    assert (reply.status, reply.error_fields) == (422, ["credit_note_prefix"])


def test_voiding_an_invoice_that_asks_nothing_issues_no_credit_note(api, business, customer):
    free = issue_lines(api, customer, [at("20", "0")])
    discounted = issue_lines(api, customer, [at("20", "10.00")], discount={"type": "percentage", "value": "100"})

    for invoice in (free, discounted):
        voided = api.post(f"/invoices/{invoice['id']}/void").body
        assert (voided["status"], voided["credit_notes"]) == ("void", [])
    assert (
        credit(api, issue_lines(api, customer, [at("20", "10.00")])["id"], {"amount": "1.20"}).body["number"] == "AV-1"
    )


def test_a_voided_invoice_asks_nothing_its_late_fees_included_and_owes_back_what_was_paid(api, business, customer):
    fees = {"enabled": True, "type": "fixed", "value": "40.00", "frequency": {"interval": "once"}}
    invoice = issue_lines(api, customer, [at("20", "1000.00")], issue_date="2026-11-01", due_date="2026-11-02",
                          late_fees=fees)  # fmt: skip
    assert api.run_sweep("late_fees", "2026-12-10")["done"] == 1
    assert api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "300.00"}).status == 201

    voided = api.post(f"/invoices/{invoice['id']}/void").body

    assert (voided["late_fees_total"], voided["credited"]) == ("40.00", "1200.00")
    assert (voided["amount_due"], voided["amount_overpaid"]) == ("0.00", "300.00")


def test_a_credit_notes_data_repeats_the_invoices_terms(api, business, customer):
    from tests.einvoice_rules import french_ctc_failures

    fees = {"enabled": True, "type": "percentage", "value": "1.5", "frequency": {"interval": "month"}}
    invoice = issue_lines(api, customer, [at("20", "100.00")], late_fees=fees)
    note = credit(api, invoice["id"], {"amount": "12.00"}).body

    _, xml = facturx.get_xml_from_pdf(pdf_of_credit_note(note["id"]), check_xsd=False)

    notes = dict(zip(cii(xml, "//ram:IncludedNote/ram:SubjectCode"), cii(xml, "//ram:IncludedNote/ram:Content"),
                     strict=True))  # fmt: skip
    assert "1,5 % par mois" in notes["PMD"]
    assert french_ctc_failures(xml) == []
    assert "late_fees" not in api.get(f"/credit-notes/{note['id']}").body
