"""The files of exports (domain.exports, SPEC §14), pure.

- CSV: `csv` is RFC 4180 (commas, quotes doubled, CRLF, dot decimals);
  `csv-fr` is what French Excel opens (semicolons, comma decimals, one
  BOM at the very start); a text cell a spreadsheet would run as a formula
  is neutralized with an apostrophe, while an amount, even negative, stays
  a number.
- FEC: each document one entry of its journal, balanced to the cent, no
  amount negative (a negative one changes side), with the business's
  accounts; an invoice debits the customer and credits sales and VAT per
  rate; a credit note reverses; a payment debits the bank and credits the
  customer (what it paid of the invoice, and what it overpaid: owed back),
  the late fees and the tip; a refund or a cancellation, an entry of its
  own on its day, reverses its part; written in ISO 8859-15 whatever the
  names, and clean for an auditor's tool (tests/fec_audit.py).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import exports
from invoicing.domain.exports import FecEntry
from invoicing.logic.ledger import entries_of
from invoicing.logic.totals import totals_of, totals_view
from invoicing.models.settings import Accounting
from tests.fec_audit import audit

pytestmark = pytest.mark.unit

ACCOUNTING = Accounting().model_dump()  # the defaults: 411000, 706000, 707000, 445710, 512000, 763100, 758000
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)
D = Decimal


def vat(rate: str, name: str = "TVA") -> list[dict[str, str]]:
    return [] if rate == "0" else [{"name": name, "rate": rate}]


def line(name: str, quantity: str, price: str, *taxes: dict[str, str], **more: Any) -> dict[str, Any]:
    return {"name": name, "quantity": quantity, "unit_price": price, "taxes": list(taxes), **more}


def stored_invoice(
    lines: list[dict[str, Any]], discount: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """An issued invoice as the store keeps it: nets and totals from the one totals function."""
    currency = fields.pop("currency", "EUR")
    totals = totals_of(lines, discount, currency)
    view = totals_view(totals)
    nets = view.pop("line_nets")
    return {
        "id": "inv_1",
        "number": "F-2026-0007",
        "status": "open",
        "version": 3,
        "issue_date": "2026-11-05",
        "due_date": "2026-12-05",
        "currency": currency,
        "customer_id": "cus_1",
        "customer": {"id": "cus_1", "name": "Dupont & Fils", "siren": "812345676", "vat_number": "FR12812345676"},
        "lines": [{**item, "net": net} for item, net in zip(lines, nets, strict=True)],
        "discount": discount,
        "totals": view,
        "credited": "0",
        "payments": [],
        **fields,
    }


def stored_credit_note(lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    note = stored_invoice(lines, **fields)
    for name in ("status", "due_date", "payments", "credited", "version"):
        note.pop(name)
    return {**note, "id": "cn_1", "number": "AV-3", "issue_date": "2026-11-20", "invoice_id": "inv_1",
            "invoice_number": "F-2026-0007", "invoice_issue_date": "2026-11-05", "reason": "Retour"}  # fmt: skip


def amounts(entry: FecEntry) -> list[tuple[str, str | None, Decimal, Decimal]]:
    """(account key, own account number, debit, credit) of each line."""
    return [(item.account, item.account_number, item.debit, item.credit) for item in entry.lines]


def by_label(entry: FecEntry) -> dict[str, tuple[Decimal, Decimal]]:
    """(debit, credit) by account key and what the line is of: "vat_collected TVA 20 %"."""
    return {f"{item.account} {item.detail}" if item.detail else item.account: (item.debit, item.credit)
            for item in entry.lines}  # fmt: skip


def assert_sound(entry: FecEntry) -> None:
    """Balanced to the cent, no amount negative, no line of nothing, never both sides."""
    debit = sum((item.debit for item in entry.lines), D(0))
    credit = sum((item.credit for item in entry.lines), D(0))
    assert debit == credit, entry
    assert entry.balanced()
    for item in entry.lines:
        assert item.debit >= 0, item
        assert item.credit >= 0, item
        assert (item.debit == 0) != (item.credit == 0), item


def fec_file(*entries: FecEntry, accounting: dict[str, Any] = ACCOUNTING) -> bytes:
    """The entries as the export writes them: numbered per journal, in order."""
    numbers: dict[str, int] = {}
    lines = [exports.fec_header()]
    for entry in entries:
        numbers[entry.journal] = numbers.get(entry.journal, 0) + 1
        lines += exports.fec_lines(entry, numbers[entry.journal], accounting)
    return exports.fec_bytes("".join(f"{text}\r\n" for text in lines))


def parsed(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter))


# -- CSV ----------------------------------------------------------------------------------

AWKWARD = ["Dupont, Fils", 'Le "Bon" Coin', "Ligne 1\nLigne 2", "Café; Crème"]


def test_given_awkward_names_when_written_as_csv_then_rfc_4180_quotes_them_and_reads_them_back():
    text = exports.csv_text([[name, D("1234.50")] for name in AWKWARD], "csv", header=["name", "total"])

    assert text == (
        "name,total\r\n"
        '"Dupont, Fils",1234.50\r\n'
        '"Le ""Bon"" Coin",1234.50\r\n'
        '"Ligne 1\nLigne 2",1234.50\r\n'
        "Café; Crème,1234.50\r\n"
    )
    assert parsed(text) == [["name", "total"], *([name, "1234.50"] for name in AWKWARD)]


def test_given_awkward_names_when_written_as_csv_fr_then_semicolons_separate_and_commas_are_decimals():
    text = exports.csv_text([[name, D("1234.50")] for name in AWKWARD], "csv-fr", header=["name", "total"])

    assert text == (
        "\ufeffname;total\r\n"
        "Dupont, Fils;1234,50\r\n"  # a comma is no separator here: not quoted
        '"Le ""Bon"" Coin";1234,50\r\n'
        '"Ligne 1\nLigne 2";1234,50\r\n'
        '"Café; Crème";1234,50\r\n'
    )
    assert parsed(text, ";") == [["name", "total"], *([name, "1234,50"] for name in AWKWARD)]


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
def test_every_record_ends_with_crlf_and_a_line_break_inside_a_cell_stays_inside_its_quotes(style):
    text = exports.csv_text([["Ligne 1\nLigne 2", "x"], ["a", "b"]], style, header=["one", "two"])

    records = text.split("\r\n")
    assert records[-1] == ""  # the last record ends with CRLF too
    assert len(records) == 4  # header, two records: the cell's own line feed is no record end
    assert "\r\n" not in text.replace("\r\n", "")


def test_the_bom_is_written_once_at_the_start_of_csv_fr_and_never_in_csv():
    first = exports.csv_text([["a", D("1.00")]], "csv-fr", header=["name", "total"])
    later = exports.csv_text([["b", D("2.00")]], "csv-fr")  # a later part of the file: no header, no BOM
    joined = (first + later).encode("utf-8")

    assert joined.startswith(b"\xef\xbb\xbfname;total\r\n")
    assert joined.count(b"\xef\xbb\xbf") == 1
    assert "\ufeff" not in exports.csv_text([["a", D("1.00")]], "csv", header=["name", "total"])


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        '=HYPERLINK("http://evil","clic")',
        "+33 6 12 34 56 78",
        "-12.50",
        "@SUM(A1:A9)",
        "\t=cmd",
        "\r=cmd",
    ],  # fmt: skip
    ids=["equals", "equals with quotes and commas", "plus", "minus", "at", "tab", "carriage return"],
)
def test_given_a_name_a_spreadsheet_would_run_when_written_then_it_is_text_with_an_apostrophe(text, style):
    delimiter = ";" if style == "csv-fr" else ","

    written = exports.csv_text([[text, "ref"]], style)

    assert parsed(written, delimiter) == [[f"'{text}", "ref"]]


@pytest.mark.parametrize(
    ("style", "expected"), [("csv", ["-12.50", "0.00", "1234.56"]), ("csv-fr", ["-12,50", "0,00", "1234,56"])]
)
def test_amounts_are_numbers_never_neutralized_even_negative(style, expected):
    written = exports.csv_text([[D("-12.50"), D("0.00"), D("1234.56")]], style)

    assert parsed(written, ";" if style == "csv-fr" else ",") == [expected]


def test_text_that_merely_contains_a_formula_sign_is_left_as_it_is():
    assert exports.neutralized("Dupont = Fils") == "Dupont = Fils"
    assert exports.neutralized("SARL Dupont-Durand") == "SARL Dupont-Durand"
    assert exports.neutralized("") == ""
    assert exports.neutralized("'=already") == "'=already"


def test_an_invoice_row_has_its_columns_amounts_as_decimals_and_a_hostile_name_neutralized():
    invoice = stored_invoice(
        [line("Développement", "3", "450.00", *vat("20"), discount={"type": "percentage", "value": "10"})],
        {"type": "fixed", "value": "50.00"},
        customer={"id": "cus_1", "name": "=cmd|' /C calc'!A0", "siren": "812345676"},
        payments=[{"id": "pay_1", "amount": "398.00", "paid_at": "2026-11-28", "method": "cash"}],
    )

    row = exports.invoice_row(invoice)

    assert len(row) == len(exports.COLUMNS["invoices"])
    named = dict(zip(exports.COLUMNS["invoices"], row, strict=True))
    assert (named["total_excluding_tax"], named["tax"]) == (D("1165.00"), D("233.00"))
    assert (named["total"], named["amount_paid"], named["amount_due"]) == (D("1398.00"), D("398.00"), D("1000.00"))
    assert str(named["late_fees"]) == "0.00"  # the currency's decimals, never 0
    written = parsed(exports.csv_text([row], "csv-fr", header=exports.COLUMNS["invoices"]), ";")
    assert dict(zip(written[0], written[1], strict=True)) | {} == {
        **dict.fromkeys(exports.COLUMNS["invoices"], ""),
        "number": "F-2026-0007", "issue_date": "2026-11-05", "due_date": "2026-12-05", "status": "open",
        "customer_name": "'=cmd|' /C calc'!A0", "customer_siren": "812345676", "currency": "EUR",
        "total_excluding_tax": "1165,00", "tax": "233,00", "total": "1398,00", "late_fees": "0,00",
        "credited": "0,00", "amount_paid": "398,00", "amount_due": "1000,00", "id": "inv_1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("paid_at", "day"),
    [
        ("2026-12-14T23:30:00.000Z", "2026-12-15"),
        ("2026-07-31T22:10:00.000Z", "2026-08-01"),
        ("2026-12-14T10:00:00.000Z", "2026-12-14"),
    ],  # fmt: skip
    ids=["half past midnight in Paris, winter", "ten past midnight in Paris, summer", "mid-morning"],
)
def test_an_invoice_row_says_the_day_in_france_it_was_paid_not_the_utc_day(paid_at, day):
    """Every day of the system is France's (deps.today): a payment recorded
    at 00:30 in Paris is of that day, though still the day before in UTC."""
    invoice = stored_invoice([line("A", "1", "100.00", *vat("20"))], status="paid", paid_at=paid_at)

    named = dict(zip(exports.COLUMNS["invoices"], exports.invoice_row(invoice), strict=True))

    assert named["paid_at"] == day


def test_a_credit_note_row_and_a_payment_row_have_their_columns():
    note = stored_credit_note([line("Retour", "1", "100.00", *vat("20"))], customer={"name": "@Dupont"})
    invoice = stored_invoice([line("A", "1", "100.00", *vat("20"))],
                             payments=[{"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28",
                                        "method": "bank_transfer", "reference": "-VIR 42"}])  # fmt: skip
    (entry,) = entries_of(invoice)

    note_row = dict(zip(exports.COLUMNS["credit_notes"], exports.credit_note_row(note), strict=True))
    payment_row = dict(zip(exports.COLUMNS["payments"], exports.payment_row(entry), strict=True))

    assert (note_row["number"], note_row["invoice_number"], note_row["total"]) == ("AV-3", "F-2026-0007", D("120.00"))
    assert payment_row == {
        "date": "2026-11-28", "type": "payment", "invoice_number": "F-2026-0007", "customer_name": "Dupont & Fils",
        "method": "bank_transfer", "reference": "-VIR 42", "currency": "EUR", "amount": D("120.00"),
        "tip": D("0.00"), "paid_at": "2026-11-28", "invoice_id": "inv_1", "payment_id": "pay_1",
    }  # fmt: skip
    written = parsed(exports.csv_text([exports.credit_note_row(note), exports.payment_row(entry)], "csv"))
    assert written[0][4] == "'@Dupont"
    shown = dict(zip(exports.COLUMNS["payments"], written[1], strict=True))
    assert shown["reference"] == "'-VIR 42"  # a reference is text: neutralized
    assert (shown["amount"], shown["tip"]) == ("120.00", "0.00")


def test_a_refund_row_is_on_the_day_it_was_seen_negative_and_says_when_the_payment_was_received():
    invoice = stored_invoice([line("A", "1", "100.00", *vat("20"))], updated_at="2026-12-14T23:30:00.000Z",
                             payments=[{"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "card",
                                        "tip": "5.00", "amount_refunded": "120.00", "tip_refunded": "2.00",
                                        "stripe_payment_intent": "pi_3Nx"}])  # fmt: skip
    received, refund = entries_of(invoice)

    rows = [dict(zip(exports.COLUMNS["payments"], exports.payment_row(e), strict=True)) for e in (received, refund)]

    assert [(row["date"], row["type"], row["amount"], row["tip"], row["paid_at"]) for row in rows] == [
        ("2026-11-28", "payment", D("120.00"), D("5.00"), "2026-11-28"),  # as received, before the refund
        ("2026-12-15", "refund", D("-120.00"), D("-2.00"), "2026-11-28"),  # the day in France it was seen
    ]
    written = parsed(exports.csv_text([exports.payment_row(refund)], "csv-fr"), ";")
    shown = dict(zip(exports.COLUMNS["payments"], written[0], strict=True))
    assert (shown["amount"], shown["tip"]) == ("-120,00", "-2,00")  # amounts, negative, never neutralized


@pytest.mark.parametrize("name", ["Łódź", "Søren", "Zoë", "李", "Ærø — Œuvres €"])
def test_names_of_any_script_are_written_as_they_are_in_csv(name):
    text = exports.csv_text([[name]], "csv-fr", header=["name"])

    assert text.encode("utf-8").decode("utf-8-sig") == f"name\r\n{name}\r\n"


# -- FEC: invoices and credit notes -------------------------------------------------------

MULTI_RATE = [
    line("Conseil", "3", "450.00", *vat("20"), discount={"type": "percentage", "value": "10"}),
    line("Livres", "7", "12.99", *vat("5.5")),
    line("Repas", "2", "33.33", *vat("10")),
    line("Débours", "1", "25.00"),  # outside VAT
]
DISCOUNT = {"type": "fixed", "value": "50.00"}


def test_a_multi_rate_invoice_with_a_discount_debits_the_customer_and_credits_sales_and_vat_per_rate():
    invoice = stored_invoice(MULTI_RATE, DISCOUNT)
    breakdown = {entry["rate"]: entry for entry in invoice["totals"]["tax_breakdown"]}

    entry = exports.invoice_entry(invoice, ACCOUNTING, "services")

    assert_sound(entry)
    assert (entry.journal, entry.day, entry.piece, entry.piece_day) == ("sales", "2026-11-05", "F-2026-0007",
                                                                       "2026-11-05")  # fmt: skip
    assert entry.label == "Facture F-2026-0007 Dupont & Fils"
    customer = entry.lines[0]
    assert (customer.account, customer.debit, customer.credit) == ("customers", D(invoice["totals"]["total"]), 0)
    assert customer.customer == ("cus_1", "Dupont & Fils")
    lines = by_label(entry)
    for rate in ("20", "5.5", "10"):
        assert lines[f"sales_services TVA {rate} %"] == (0, D(breakdown[rate]["base"]))
        assert lines[f"vat_collected TVA {rate} %"] == (0, D(breakdown[rate]["tax"]))
    sales = sum((item.credit for item in entry.lines if item.account == "sales_services"), D(0))
    vat_total = sum((item.credit for item in entry.lines if item.account == "vat_collected"), D(0))
    assert vat_total == D(invoice["totals"]["tax_total"])
    assert sales + vat_total == D(invoice["totals"]["total"])
    assert "sales_services hors TVA" in lines  # the untaxed line's base, with no VAT line
    written = [text.split("\t") for text in exports.fec_lines(entry, 1, ACCOUNTING)]
    assert {(f[5], f[10]) for f in written} >= {  # the account's label; what the line is of after the entry's
        ("Prestations de services", "Facture F-2026-0007 Dupont & Fils - TVA 20 %"),
        ("TVA collectée", "Facture F-2026-0007 Dupont & Fils - TVA 20 %"),
        ("Prestations de services", "Facture F-2026-0007 Dupont & Fils - hors TVA"),
        ("Clients", "Facture F-2026-0007 Dupont & Fils"),
    }


def test_a_business_selling_goods_credits_707_and_a_rate_of_its_own_gets_its_vat_account():
    accounting = {**ACCOUNTING, "vat_collected_by_rate": {"20": "44571200", "5.5": "44571055"}}
    entry = exports.invoice_entry(stored_invoice(MULTI_RATE, DISCOUNT), accounting, "goods")

    lines = exports.fec_lines(entry, 7, accounting)

    written = [text.split("\t") for text in lines]
    labels: dict[str, set[str]] = {}
    for fields in written:
        labels.setdefault(fields[4], set()).add(fields[5])
    assert labels == {  # one label per account number, whatever the rate of its lines
        "411000": {"Clients"},
        "707000": {"Ventes de marchandises"},
        "44571200": {"TVA collectée 20 %"},
        "44571055": {"TVA collectée 5.5 %"},
        "445710": {"TVA collectée"},  # no account of its own: VAT collected, 10 % among others
    }
    booked = {(fields[4], fields[10].rsplit(" - ", 1)[-1]) for fields in written}
    assert {("707000", "TVA 20 %"), ("44571200", "TVA 20 %"), ("44571055", "TVA 5.5 %"), ("445710", "TVA 10 %"),
            ("707000", "hors TVA")} <= booked  # fmt: skip
    assert {fields[2] for fields in written} == {"VT000007"}


def test_a_credit_note_is_its_invoice_s_entry_reversed():
    lines = [line("Conseil", "1", "450.00", *vat("20")), line("Livres", "2", "12.99", *vat("5.5"))]
    invoice = exports.invoice_entry(stored_invoice(lines), ACCOUNTING, "services")

    note = exports.credit_note_entry(stored_credit_note(lines), ACCOUNTING, "services")

    assert_sound(note)
    assert note.label == "Avoir AV-3 sur F-2026-0007 Dupont & Fils"
    assert (note.journal, note.day, note.piece) == ("sales", "2026-11-20", "AV-3")
    assert [(a, n, c, d) for a, n, d, c in amounts(note)] == amounts(invoice)  # every side swapped


def test_a_final_invoice_deducting_a_deposit_puts_the_negative_rate_on_the_debit_side():
    """The deposit was invoiced at 10 %; the balance is charged at 20 % only:
    the 10 % group is negative, and its sales and VAT change side rather
    than be written negative."""
    lines = [
        line("Solde du devis D-1", "1", "1000.00", *vat("20")),
        line("Acompte F-1 du 01/11/2026", "1", "-300.00", *vat("10"), deposit_invoice_id="inv_0"),
    ]
    invoice = stored_invoice(lines, kind="final")
    assert [item["net"] for item in invoice["lines"]] == ["1000.00", "-300.00"]

    entry = exports.invoice_entry(invoice, ACCOUNTING, "services")

    assert_sound(entry)
    assert by_label(entry) == {
        "customers": (D("870.00"), 0),
        "sales_services TVA 20 %": (0, D("1000.00")),
        "vat_collected TVA 20 %": (0, D("200.00")),
        "sales_services TVA 10 %": (D("300.00"), 0),
        "vat_collected TVA 10 %": (D("30.00"), 0),
    }
    note = exports.credit_note_entry(stored_credit_note(lines), ACCOUNTING, "services")
    assert_sound(note)
    assert by_label(note)["sales_services TVA 10 %"] == (0, D("300.00"))


def test_a_line_with_two_taxes_is_credited_to_sales_once_and_each_tax_to_its_account():
    """A line taxed twice (an excise and VAT) is one base: sales are
    credited with it once, each tax with its amount; the entry balances."""
    invoice = stored_invoice([line("Vin", "1", "100.00", *vat("1", "Accise"), *vat("20"))])

    entry = exports.invoice_entry(invoice, ACCOUNTING, "goods")

    assert_sound(entry)
    assert sum((item.credit for item in entry.lines if item.account == "sales_goods"), D(0)) == D("100.00")
    assert sum((item.credit for item in entry.lines if item.account == "vat_collected"), D(0)) == D("21.00")
    assert entry.lines[0].debit == D("121.00")


def test_an_invoice_in_the_sales_journal_is_clean_for_an_auditor():
    invoice = exports.invoice_entry(stored_invoice(MULTI_RATE, DISCOUNT), ACCOUNTING, "services")
    note = exports.credit_note_entry(stored_credit_note(MULTI_RATE[:2]), ACCOUNTING, "services")

    data = fec_file(invoice, note)

    assert audit(data, exports.fec_filename("732829320", "2026-11-30"), start=date(2026, 11, 1),
                 end=date(2026, 11, 30)) == []  # fmt: skip


# -- FEC: payments ------------------------------------------------------------------------


def paid(*payments: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    """The payment entries (logic.ledger) of a 120.00 invoice with these
    payments, projected once; what it holds since last written on 12-15."""
    fields.setdefault("updated_at", "2026-12-15T10:00:00.000Z")
    invoice = stored_invoice([line("Conseil", "1", "100.00", *vat("20"))], payments=list(payments), **fields)
    return entries_of(invoice)


def net_by_account(*entries: FecEntry) -> dict[str, Decimal]:
    """Debit less credit, account by account, over the entries."""
    net: dict[str, Decimal] = {}
    for entry in entries:
        for item in entry.lines:
            net[item.account] = net.get(item.account, D(0)) + item.debit - item.credit
    return net


def test_a_payment_with_a_tip_and_a_late_fee_credits_customer_fees_and_tips_and_debits_the_bank():
    (entry,) = paid(
        {
            "id": "pay_1",
            "amount": "141.00",
            "paid_at": "2026-12-10",
            "method": "card",
            "tip": "5.00",
            "stripe_payment_intent": "pi_3Nx",
        },  # fmt: skip
        late_fee_entries=[{"period": "2026-12", "amount": "21.00"}],
    )

    found = exports.payment_entry(entry)

    assert found is not None
    assert_sound(found)
    assert (found.journal, found.day, found.piece, found.label) == ("bank", "2026-12-10", "pi_3Nx",
                                                                   "Règlement F-2026-0007 Dupont & Fils")  # fmt: skip
    assert amounts(found) == [
        ("bank", None, D("146.00"), 0),
        ("customers", None, 0, D("120.00")),
        ("late_fees", None, 0, D("21.00")),
        ("tips", None, 0, D("5.00")),
    ]
    lines = [text.split("\t") for text in exports.fec_lines(found, 1, ACCOUNTING)]
    assert [(f[0], f[2], f[4], f[11], f[12]) for f in lines] == [
        ("BQ", "BQ000001", "512000", "146,00", "0,00"),
        ("BQ", "BQ000001", "411000", "0,00", "120,00"),
        ("BQ", "BQ000001", "763100", "0,00", "21,00"),
        ("BQ", "BQ000001", "758000", "0,00", "5,00"),
    ]
    assert lines[1][6:8] == ["cus_1", "Dupont & Fils"]  # the customer's auxiliary account


def test_a_partial_bank_transfer_is_a_two_line_entry_referenced_by_the_transfer():
    (entry,) = paid({"id": "pay_1", "amount": "50.00", "paid_at": "2026-11-28", "method": "bank_transfer",
                     "reference": "VIR 2026-11-28"})  # fmt: skip

    found = exports.payment_entry(entry)

    assert found is not None
    assert found.piece == "VIR 2026-11-28"
    assert amounts(found) == [("bank", None, D("50.00"), 0), ("customers", None, 0, D("50.00"))]


def test_a_cash_payment_without_reference_is_referenced_by_its_invoice():
    (entry,) = paid({"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "cash"})

    found = exports.payment_entry(entry)

    assert found is not None
    assert found.piece == "F-2026-0007"


@pytest.mark.parametrize(
    ("payment", "kind", "day", "label"),
    [
        (
            {
                "id": "pay_1",
                "amount": "120.00",
                "paid_at": "2026-11-28",
                "method": "cash",
                "status": "cancelled",
                "cancelled_at": "2026-12-01T09:00:00.000Z",
            },
            "cancellation",
            "2026-12-01",
            "Annulation du règlement",
        ),
        (
            {
                "id": "pay_1",
                "amount": "120.00",
                "paid_at": "2026-11-28",
                "method": "card",
                "amount_refunded": "120.00",
                "tip": "5.00",
                "tip_refunded": "5.00",
            },
            "refund",
            "2026-12-15",
            "Remboursement",
        ),
    ],  # fmt: skip
    ids=["cancelled", "refunded in full"],
)
def test_a_payment_that_counts_for_nothing_is_booked_on_its_day_and_reversed_on_the_day_it_was_undone(
    payment, kind, day, label
):
    """November's bank journal was closed with the payment in it: it stays
    there, and the cancellation or the refund is an entry of its own, its
    accounts on the other side, on its own day; the two leave nothing."""
    received, undone = paid(payment)

    booked, reversed_ = exports.payment_entry(received), exports.payment_entry(undone)

    assert booked is not None
    assert reversed_ is not None
    assert_sound(booked)
    assert_sound(reversed_)
    assert (booked.day, booked.label) == ("2026-11-28", "Règlement F-2026-0007 Dupont & Fils")
    assert (undone["type"], reversed_.journal, reversed_.day, reversed_.piece_day) == (kind, "bank", day, day)
    assert reversed_.label == f"{label} F-2026-0007 Dupont & Fils"
    assert reversed_.piece == booked.piece  # the same payment's reference
    assert [(a, n, c, d) for a, n, d, c in amounts(reversed_)] == amounts(booked)  # every side swapped
    assert all(amount == 0 for amount in net_by_account(booked, reversed_).values())


def test_an_entry_that_moves_nothing_makes_no_entry():
    (entry,) = paid({"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "cash"})

    assert exports.payment_entry({**entry, "amount": "0.00", "tip": "0.00"}) is None


def test_a_refund_of_the_tip_alone_takes_it_back_from_the_tips_and_leaves_the_customer_alone():
    payment = {"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "card", "tip": "10.00",
               "amount_refunded": "120.00", "tip_refunded": "0.00"}  # fmt: skip
    invoice = stored_invoice([line("Conseil", "1", "100.00", *vat("20"))], payments=[payment],
                             updated_at="2026-12-15T10:00:00.000Z")  # fmt: skip
    held = {entry["id"]: entry for entry in entries_of(invoice)}  # the invoice's part refunded first
    payment["tip_refunded"] = "10.00"  # then the tip, another day
    invoice |= {"version": invoice["version"] + 1, "updated_at": "2026-12-16T10:00:00.000Z"}
    tip_refund = next(entry for entry in entries_of(invoice, held) if entry["id"] not in held)

    found = exports.payment_entry(tip_refund)

    assert (tip_refund["id"], tip_refund["date"], tip_refund["amount"], tip_refund["tip"]) == (
        "inv_1.pay_1.r2", "2026-12-16", "0.00", "-10.00")  # fmt: skip
    assert found is not None
    assert_sound(found)
    assert found.label == "Remboursement F-2026-0007 Dupont & Fils"
    assert amounts(found) == [("bank", None, 0, D("10.00")), ("tips", None, D("10.00"), 0)]


def test_a_payment_refunded_in_part_books_what_it_received_then_the_refund_on_its_day():
    received, refund = paid({"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "card",
                             "amount_refunded": "20.00"})  # fmt: skip

    booked, reversed_ = exports.payment_entry(received), exports.payment_entry(refund)

    assert booked is not None
    assert reversed_ is not None
    assert_sound(booked)
    assert_sound(reversed_)
    assert (booked.day, amounts(booked)) == ("2026-11-28", [("bank", None, D("120.00"), 0),
                                                            ("customers", None, 0, D("120.00"))])  # fmt: skip
    assert (reversed_.day, amounts(reversed_)) == ("2026-12-15", [("bank", None, 0, D("20.00")),
                                                                 ("customers", None, D("20.00"), 0)])  # fmt: skip
    assert net_by_account(booked, reversed_) == {"bank": D("100.00"), "customers": D("-100.00")}  # what it kept


def test_an_overpayment_stays_owed_to_the_customer_and_only_the_late_fees_go_to_their_account():
    """150.00 paid of 120.00 and 21.00 of late fees: 9.00 was overpaid, owed
    back to the client, so it stays on 411 (credited with 129.00), not in
    the fees' income (763100, 21.00 only); refunded, it leaves 411 alone."""
    received, refund = paid(
        {"id": "pay_1", "amount": "150.00", "paid_at": "2026-12-10", "method": "card", "tip": "5.00",
         "stripe_payment_intent": "pi_3Nx", "amount_refunded": "9.00"},
        late_fee_entries=[{"period": "2026-12", "amount": "21.00"}],
    )  # fmt: skip
    assert (received["late_fees"], received["overpaid"]) == ("21.00", "9.00")

    booked, reversed_ = exports.payment_entry(received), exports.payment_entry(refund)

    assert booked is not None
    assert reversed_ is not None
    assert_sound(booked)
    assert amounts(booked) == [
        ("bank", None, D("155.00"), 0),
        ("customers", None, 0, D("129.00")),  # 120.00 of the invoice and 9.00 owed back
        ("late_fees", None, 0, D("21.00")),
        ("tips", None, 0, D("5.00")),
    ]
    lines = [text.split("\t") for text in exports.fec_lines(booked, 1, ACCOUNTING)]
    assert {f[4]: (f[11], f[12]) for f in lines} == {
        "512000": ("155,00", "0,00"),
        "411000": ("0,00", "129,00"),
        "763100": ("0,00", "21,00"),
        "758000": ("0,00", "5,00"),
    }
    assert_sound(reversed_)
    assert amounts(reversed_) == [("bank", None, 0, D("9.00")), ("customers", None, D("9.00"), 0)]  # the excess back
    assert net_by_account(booked, reversed_)["customers"] == D("-120.00")  # what the invoice asked, settled


def test_payments_refunds_and_cancellations_in_the_bank_journal_are_clean_for_an_auditor():
    entries = [
        *paid({"id": "pay_1", "amount": "120.00", "paid_at": "2026-11-28", "method": "card", "tip": "5.00",
               "amount_refunded": "120.00", "tip_refunded": "1.00", "stripe_payment_intent": "pi_3Nx"}),
        *paid({"id": "pay_2", "amount": "60.00", "paid_at": "2026-12-02", "method": "cheque", "status": "cancelled",
               "cheque_number": "0012345", "cancelled_at": "2026-12-09T09:00:00.000Z"}),
    ]  # fmt: skip
    found = [exports.payment_entry(entry) for entry in sorted(entries, key=lambda entry: entry["date"])]

    assert [entry.label.split(" F-")[0] for entry in found if entry] == [
        "Règlement", "Règlement", "Annulation du règlement", "Remboursement"]  # fmt: skip
    data = fec_file(*(entry for entry in found if entry))
    assert audit(data, exports.fec_filename("732829320", "2026-12-31"), start=date(2026, 11, 1),
                 end=date(2026, 12, 31)) == []  # fmt: skip


# -- FEC: balanced whatever the invoice ---------------------------------------------------

RATES = ("0", "2.1", "5.5", "10", "20")
amount_text = st.decimals(min_value=D("2.00"), max_value=D("9999.99"), places=2).map(str)  # the 0.99 discount applies


@st.composite
def invoices(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    lines = []
    for number in range(draw(st.integers(1, 6))):
        rate = draw(st.sampled_from(RATES))
        taxes = vat(rate)
        if rate != "0" and draw(st.integers(0, 5)) == 0:  # now and then a second tax on the line
            taxes.append({"name": "Accise", "rate": draw(st.sampled_from(("1", "3")))})
        discount = draw(st.one_of(st.none(), st.builds(
            lambda value: {"type": "percentage", "value": value}, st.sampled_from(("5", "10", "12.5")))))  # fmt: skip
        lines.append({"name": f"Ligne {number}", "quantity": draw(st.sampled_from(("1", "2", "3", "0.5", "7"))),
                      "unit_price": draw(amount_text), "taxes": taxes, "discount": discount})  # fmt: skip
    discount = draw(st.one_of(st.none(), st.just({"type": "percentage", "value": "7"}),
                              st.just({"type": "fixed", "value": "0.99"})))  # fmt: skip
    return lines, discount


@PROPERTY
@given(invoices(), st.sampled_from(("services", "goods")))
def test_every_invoice_and_credit_note_entry_balances_with_no_negative_amount(drawn, operations):
    lines, discount = drawn
    invoice = stored_invoice(lines, discount)

    entry = exports.invoice_entry(invoice, ACCOUNTING, operations)
    note = exports.credit_note_entry(stored_credit_note(lines, discount=discount), ACCOUNTING, operations)

    assert_sound(entry)
    assert_sound(note)
    assert entry.lines[0].debit == D(invoice["totals"]["total"])
    assert audit(fec_file(entry, note), "732829320FEC20261130.txt", start=date(2026, 11, 1),
                 end=date(2026, 11, 30)) == []  # fmt: skip


@PROPERTY
@given(
    st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
    st.decimals(min_value=D("0"), max_value=D("50"), places=2),
    st.decimals(min_value=D("0"), max_value=D("99"), places=2),
)
def test_every_payment_entry_balances_whatever_its_tip_and_late_fees(amount, tip, fee):
    payment = {"id": "pay_1", "amount": str(amount), "paid_at": "2026-11-28", "method": "card", "tip": str(tip)}
    fees = [{"period": "2026-11", "amount": str(fee)}] if fee else []
    (entry,) = paid(payment, late_fee_entries=fees)

    found = exports.payment_entry(entry)

    assert found is not None
    assert_sound(found)
    assert found.lines[0].debit == amount + tip


# -- FEC: the file ------------------------------------------------------------------------


def test_the_header_is_the_18_columns_of_the_arrete_tab_separated():
    assert exports.fec_header().split("\t") == [
        "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
        "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
        "ValidDate", "Montantdevise", "Idevise",
    ]  # fmt: skip


def test_the_file_name_is_the_siren_fec_and_the_closing_day():
    assert exports.fec_filename("732829320", "2026-12-31") == "732829320FEC20261231.txt"


def test_a_name_with_a_tab_or_a_line_break_keeps_every_line_at_18_fields():
    invoice = stored_invoice([line("A", "1", "100.00", *vat("20"))],
                             customer={"id": "cus_1", "name": "Dupont\tet\r\nFils"})  # fmt: skip

    lines = exports.fec_lines(exports.invoice_entry(invoice, ACCOUNTING, "services"), 1, ACCOUNTING)

    assert all(len(text.split("\t")) == 18 for text in lines)
    assert lines[0].split("\t")[7] == "Dupont et Fils"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Søren", "Søren"),
        ("Zoë", "Zoë"),
        ("Œuvres €", "Œuvres €"),
        ("Łódź", "Lódz"),  # Ł has no decomposition: written L
        ("Jean\u2019s \u2014 Café", "Jean's - Café"),  # typography typed in a name: its plain letters
        ("李", "?"),
        ("Ştefan Dvořák", "Stefan Dvorák"),
    ],  # fmt: skip
)
def test_a_name_outside_latin_9_is_written_without_its_accent_or_as_a_question_mark(name, written):
    invoice = stored_invoice([line("A", "1", "100.00", *vat("20"))], customer={"id": "cus_1", "name": name})
    entry = exports.invoice_entry(invoice, ACCOUNTING, "services")

    data = fec_file(entry)

    text = data.decode("iso8859_15")
    assert text.splitlines()[1].split("\t")[7] == written
    assert f"Facture F-2026-0007 {written}" in text
    assert audit(data, "732829320FEC20261130.txt", start=date(2026, 11, 1), end=date(2026, 11, 30)) == []


def test_the_amounts_are_written_with_a_comma_and_two_decimals():
    invoice = stored_invoice([line("A", "1", "1234.5", *vat("20"))])

    (customer, *_) = exports.fec_lines(exports.invoice_entry(invoice, ACCOUNTING, "services"), 1, ACCOUNTING)

    assert customer.split("\t")[11:13] == ["1481,40", "0,00"]


def test_a_name_typed_with_combining_accents_keeps_them_in_latin_9():
    """macOS types "é" as "e" + U+0301: composed first, it is Latin-9's é."""
    assert exports.fec_bytes("Rene\u0301 Ze\u0301phyr") == "René Zéphyr".encode("iso8859_15")
