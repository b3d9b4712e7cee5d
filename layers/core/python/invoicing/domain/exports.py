"""The files an export writes (SPEC §14), pure: rows of documents as CSV
for a spreadsheet, and the sales journal as a FEC for the accountant.

CSV
- `csv`: RFC 4180 — commas, fields quoted when they hold a comma, a quote
  or a line break (quotes doubled), CRLF line ends, dot decimals.
- `csv-fr`: what French Excel opens as columns — semicolons, comma
  decimals, and a UTF-8 byte order mark (without it Excel reads
  "Société" as "SociÃ©tÃ©").
- A text cell a spreadsheet would read as a formula (it starts with
  = + - @, a tab or a carriage return: CSV injection) is written with a
  leading apostrophe, which the spreadsheet shows as text. Amounts are
  ours, never text: a negative amount stays a number.

FEC (Fichier des Écritures Comptables, LPF art. A47 A-1)
- The 18 columns in their order, tab-separated, a header line; dates
  YYYYMMDD; amounts with a comma decimal and no thousands separator;
  ISO 8859-15 (the arrêté's character set): a character it lacks is
  written without its accent, else "?".
- Each invoice is one entry of the sales journal: the customer's account
  (411, the customer an auxiliary account) debited with the total, sales
  (706 services, 707 goods) credited with the base of each rate, VAT
  collected (44571) with each rate's VAT. A credit note is the same
  entry reversed. Each payment is one entry of the bank journal: the
  bank (512) debited, the customer credited, and what it paid beyond the
  invoice (late fees) and its tip credited to their accounts. An amount
  is never negative: a negative one changes side. Every entry balances.
- Entries are numbered per journal without a gap, in date order.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain.document import Document
from invoicing.domain.invoice import CreditNote, Invoice, day_of
from invoicing.domain.ledger import document_rows
from invoicing.domain.money import ZERO, round_money

Doc = Mapping[str, Any]
Cell = str | Decimal | int | None
KINDS = ("invoices", "payments", "credit_notes", "fec")
FORMATS = ("csv", "csv-fr")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# -- CSV -------------------------------------------------------------------------------

INVOICE_COLUMNS = (
    "number", "name", "issue_date", "due_date", "status", "customer_name", "customer_siren", "customer_vat_number",
    "currency", "total_excluding_tax", "tax", "total", "late_fees", "credited", "amount_paid", "amount_due",
    "paid_at", "id",
)  # fmt: skip
CREDIT_NOTE_COLUMNS = (
    "number", "issue_date", "invoice_number", "invoice_issue_date", "customer_name", "currency",
    "total_excluding_tax", "tax", "total", "reason", "id", "invoice_id",
)  # fmt: skip
PAYMENT_COLUMNS = (
    "date", "type", "invoice_number", "customer_name", "method", "reference", "currency", "amount", "tip",
    "paid_at", "invoice_id", "payment_id",
)  # fmt: skip
COLUMNS = {"invoices": INVOICE_COLUMNS, "credit_notes": CREDIT_NOTE_COLUMNS, "payments": PAYMENT_COLUMNS}


def invoice_row(doc: Doc) -> list[Cell]:
    invoice = Invoice.of(doc)
    customer = doc.get("customer") or {}
    totals = invoice.totals
    amounts = _amounts(invoice.currency, totals.total - totals.tax_total, totals.tax_total, totals.total,
                       invoice.late_fees_total, invoice.credited, invoice.amount_paid, invoice.amount_due)  # fmt: skip
    return [
        doc.get("number"), doc.get("name"), doc.get("issue_date"), doc.get("due_date"), doc["status"],
        customer.get("name"),
        customer.get("siren"), customer.get("vat_number"), invoice.currency, *amounts,
        day_of(doc["paid_at"]).isoformat() if doc.get("paid_at") else None, doc["id"],
    ]  # fmt: skip


def credit_note_row(doc: Doc) -> list[Cell]:
    note = CreditNote.of(doc)
    totals = note.totals
    amounts = _amounts(note.currency, totals.total - totals.tax_total, totals.tax_total, totals.total)
    return [
        doc["number"], doc["issue_date"], doc.get("invoice_number"), doc.get("invoice_issue_date"),
        (doc.get("customer") or {}).get("name"), note.currency, *amounts, doc.get("reason"), doc["id"],
        doc["invoice_id"],
    ]  # fmt: skip


def _amounts(currency: str, *amounts: Decimal) -> list[Cell]:
    """Amounts with their currency's decimals: 0.00, never 0."""
    return [round_money(amount, currency) for amount in amounts]


def payment_row(entry: Doc) -> list[Cell]:
    """A payment received, refunded (negative) or cancelled (negative), on its day (logic.ledger)."""
    return [
        entry.get("date") or entry["paid_at"], entry.get("type") or "payment", entry.get("invoice_number"),
        entry.get("customer_name"), entry.get("method"), entry.get("reference"), entry["currency"],
        Decimal(entry["amount"]), Decimal(entry["tip"]), entry["paid_at"], entry["invoice_id"], entry["payment_id"],
    ]  # fmt: skip


ROWS = {"invoices": invoice_row, "credit_notes": credit_note_row, "payments": payment_row}


def neutralized(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Sequence[Cell]], style: str, *, header: Sequence[str] | None = None) -> str:
    """Rows as `csv` or `csv-fr` text (the BOM, for csv-fr, goes before the header)."""
    french = style == "csv-fr"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if french else ",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if header is not None:
        if french:
            out.write("\ufeff")
        writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value, french) for value in row])
    return out.getvalue()


def _cell(value: Cell, french: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = f"{value:f}"
        return text.replace(".", ",") if french else text
    if isinstance(value, int):
        return str(value)
    return neutralized(value)


# -- FEC ---------------------------------------------------------------------------------

FEC_COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
FEC_CURRENCY = "EUR"  # the books are kept in euros: a document in another currency needs a rate we do not hold
JOURNAL_NAMES = {"sales": "Journal des ventes", "bank": "Journal de banque"}
ACCOUNT_NAMES = {
    "customers": "Clients", "sales_services": "Prestations de services", "sales_goods": "Ventes de marchandises",
    "vat_collected": "TVA collectée", "bank": "Banque", "late_fees": "Indemnités et pénalités de retard",
    "tips": "Pourboires",
}  # fmt: skip


class FecLine(NamedTuple):
    account: str  # a key of the accounting settings
    debit: Decimal
    credit: Decimal
    account_number: str | None = None  # a VAT account of its own rate
    account_label: str | None = None  # that account's label ("TVA collectée 20 %")
    detail: str | None = None  # what the line is of, after the entry's label ("TVA 20 %")
    customer: tuple[str, str] | None = None  # (auxiliary account, name): the customer's


class FecEntry(NamedTuple):
    journal: str  # "sales" | "bank"
    day: str  # ISO
    piece: str  # the document's number
    piece_day: str
    label: str
    lines: tuple[FecLine, ...]

    def balanced(self) -> bool:
        return sum((line.debit for line in self.lines), ZERO) == sum((line.credit for line in self.lines), ZERO)


def invoice_entry(doc: Doc, accounting: Mapping[str, Any], operations: str) -> FecEntry:
    """An invoice in the sales journal: the customer debited, sales and VAT credited per rate."""
    invoice = Invoice.of(doc)
    label = f"Facture {invoice.number} {_customer_name(doc)}".strip()
    lines = _sales_lines(invoice, accounting, operations, sign=1)
    customer = FecLine("customers", invoice.total, ZERO, customer=_aux(doc))
    return _entry("sales", doc["issue_date"], str(invoice.number), doc["issue_date"], label, (customer, *lines))


def credit_note_entry(doc: Doc, accounting: Mapping[str, Any], operations: str) -> FecEntry:
    """A credit note: its invoice's entry reversed, for what it takes off."""
    note = CreditNote.of(doc)
    label = f"Avoir {note.number} sur {doc.get('invoice_number')} {_customer_name(doc)}".strip()
    lines = _sales_lines(note, accounting, operations, sign=-1)
    customer = FecLine("customers", ZERO, note.total, customer=_aux(doc))
    return _entry("sales", doc["issue_date"], str(note.number), doc["issue_date"], label, (customer, *lines))


BANK_LABELS = {"payment": "Règlement", "refund": "Remboursement", "cancellation": "Annulation du règlement"}


def payment_entry(entry: Doc) -> FecEntry | None:
    """A ledger entry in the bank journal (logic.ledger): a payment debits
    the bank and credits the customer (what it paid of the invoice and
    overpaid: owed back), late fees and the tip; a refund or a
    cancellation, negative, the same reversed. None when it moves nothing."""
    amount, tip = Decimal(entry["amount"]), Decimal(entry["tip"])
    if not amount and not tip:
        return None
    fees = Decimal(entry.get("late_fees") or 0)
    customer = (entry.get("customer_id") or "", entry.get("customer_name") or "")
    lines = [
        FecLine("bank", amount + tip, ZERO),
        FecLine("customers", ZERO, amount - fees, customer=customer),
        FecLine("late_fees", ZERO, fees),
        FecLine("tips", ZERO, tip),
    ]
    kind = entry.get("type") or "payment"
    label = f"{BANK_LABELS[kind]} {entry.get('invoice_number')} {entry.get('customer_name') or ''}".strip()
    piece = entry.get("reference") or entry.get("invoice_number") or entry["payment_id"]
    day = entry.get("date") or entry["paid_at"]
    return _entry("bank", day, str(piece), day, label, tuple(lines))


def _sales_lines(document: Document, accounting: Mapping[str, Any], operations: str, sign: int) -> list[FecLine]:
    """Sales credited with each group's base once (a line taxed twice is one
    sale), each tax credited with what the document says of it (its
    breakdown, to the cent), once per (tax, rate)."""
    sales = "sales_goods" if operations == "goods" else "sales_services"
    groups = document.groups()
    rows = document_rows(document)
    bases: dict[tuple[tuple[str, Decimal], ...], Decimal] = {}
    for group in groups:
        bases[group.taxes] = bases.get(group.taxes, ZERO) + group.base
    lines, booked = [], set()
    for taxes, base in bases.items():
        lines.append(FecLine(sales, ZERO, sign * base, detail=_taxes_label(taxes)))
        for key in taxes:
            row = rows[key]
            if key in booked or not row.tax:
                continue
            booked.add(key)
            rate = _rate(row.rate)
            account = (accounting.get("vat_collected_by_rate") or {}).get(rate)
            lines.append(FecLine("vat_collected", ZERO, sign * row.tax, account_number=account,
                                 account_label=f"{ACCOUNT_NAMES['vat_collected']} {rate} %" if account else None,
                                 detail=f"{row.name} {rate} %"))  # fmt: skip
    return lines


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def _taxes_label(taxes: tuple[tuple[str, Decimal], ...]) -> str:
    return " + ".join(f"{name} {_rate(rate)} %" for name, rate in taxes) or "hors TVA"


def _entry(journal: str, day: str, piece: str, piece_day: str, label: str, lines: tuple[FecLine, ...]) -> FecEntry:
    """The entry with each amount on its side (a negative one moves to the other) and nothing empty."""
    sided = []
    for line in lines:
        net = line.debit - line.credit
        if net:
            sided.append(line._replace(debit=max(net, ZERO), credit=max(-net, ZERO)))
    return FecEntry(journal, day, piece, piece_day, label, tuple(sided))


def _aux(doc: Doc) -> tuple[str, str]:
    return (doc.get("customer_id") or (doc.get("customer") or {}).get("id") or "", _customer_name(doc))


def _customer_name(doc: Doc) -> str:
    return str((doc.get("customer") or {}).get("name") or "")


def fec_lines(entry: FecEntry, number: int, accounting: Mapping[str, Any]) -> list[str]:
    """The entry's lines of the file, numbered `number` in its journal."""
    journal = accounting[f"{entry.journal}_journal"]
    day, piece_day = _day(entry.day), _day(entry.piece_day)
    out = []
    for line in entry.lines:
        aux_number, aux_name = line.customer or ("", "")
        # one label per account number (importers and auditors expect it); what the line is of goes after
        # the entry's label: "Facture INV-1 Dupont - TVA 20 %"
        account_name = line.account_label or ACCOUNT_NAMES[line.account]
        label = f"{entry.label} - {line.detail}" if line.detail else entry.label
        fields = (
            journal, JOURNAL_NAMES[entry.journal], f"{journal}{number:06d}", day,
            line.account_number or accounting[line.account], account_name, aux_number, aux_name, entry.piece,
            piece_day, label, _fec_amount(line.debit), _fec_amount(line.credit), "", "", day, "", "",
        )  # fmt: skip
        out.append("\t".join(_fec_text(field) for field in fields))
    return out


def fec_header() -> str:
    return "\t".join(FEC_COLUMNS)


def fec_filename(siren: str | None, closing: str) -> str:
    """`{SIREN}FEC{YYYYMMDD}.txt`, the date the last day of the period."""
    return f"{siren or '000000000'}FEC{_day(closing)}.txt"


def fec_bytes(text: str) -> bytes:
    """The file's text in ISO 8859-15: what it lacks written without its
    accent (’ as ', Ł as L), else "?"; in one pass, however many there are."""
    # composed first: an "é" typed as "e" + U+0301 (macOS) is Latin-9's é, not "e?"
    return unicodedata.normalize("NFC", text).encode("iso8859_15", errors=_LATIN9_FALLBACK)


def _latin9(error: UnicodeError) -> tuple[str, int]:
    """The codec's error handler: the characters ISO 8859-15 lacks, replaced."""
    assert isinstance(error, UnicodeEncodeError)
    lacking = error.object[error.start : error.end]
    return "".join(_PLAIN.get(char) or _bare(char) for char in lacking), error.end


def _bare(char: str) -> str:
    return unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?"


# Typography a French name is often typed with, and letters NFKD does not take apart.
_PLAIN = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
          "\u202f": " ", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i"}  # fmt: skip
_LATIN9_FALLBACK = "fec-latin9"
codecs.register_error(_LATIN9_FALLBACK, _latin9)


def _fec_amount(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def _fec_text(value: str) -> str:
    """A field without the separator or a line break in it."""
    return " ".join(value.replace("\t", " ").split())


def _day(iso: str) -> str:
    return iso[:10].replace("-", "")
