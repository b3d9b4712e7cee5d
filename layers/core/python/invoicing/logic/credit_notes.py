"""Use cases of credit notes (avoirs): an issued invoice is never edited or
deleted; what it no longer asks is taken off by a credit note, a numbered
document of its own that names the invoice (CGI art. 272, EN 16931 type
381 with the preceding invoice, BG-3).

- `POST /invoices/{id}/credit-notes` credits lines or an amount tax
  included: in each of the invoice's groups of lines (by taxes), at most the
  base and VAT it has not credited yet (domain.credits).
- Voiding an invoice credits what is left of it: the invoice itself (its
  lines and discount) when nothing was credited yet, else what each group
  has left, to the cent of the invoice's total where bases and VAT allow.
- The credit note takes the next number of its own series (the business's
  `credit_note_prefix`, AV- by default) and the invoice records it, in one
  transaction: numbers have no gaps, and no credit note exists that its
  invoice does not list.
- It is the invoice's seller's document: it shows the seller and the client
  as the invoice does (same VAT treatment), and today's date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicing.domain import credits
from invoicing.domain.document import line_of
from invoicing.domain.errors import Conflict, FieldError, IllegalTransition, InvalidInput, NotFound, StaleVersion
from invoicing.domain.invoice import CreditNote, Invoice, settled, stored_groups, voided
from invoicing.domain.lifecycle import ISSUED, UNPAID, Status, invoice_number
from invoicing.domain.money import ZERO, format_amount, format_rate, has_at_most_decimals, minor_unit
from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps, jsonable
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.totals import totals_of, totals_view
from invoicing.models.credit_notes import CreditNoteIn
from invoicing.ports import ConditionFailed, CreditNoteIssue, Doc


@dataclass(frozen=True)
class Asked:
    """What a credit note takes: its lines and discount, and the request's
    field they come from (for errors)."""

    lines: list[dict[str, Any]]
    discount: dict[str, Any] | None
    field: str


def issue(deps: Deps, tenant: str, invoice_id: str, request: CreditNoteIn) -> Doc:
    """A credit note of the lines or the amount asked, on an issued invoice."""
    note, _ = _issue(deps, tenant, invoice_id, lambda invoice: _asked(deps, tenant, invoice, request), request.reason)
    assert note is not None
    return present(note)


def void(deps: Deps, tenant: str, invoice_id: str, version: int | None) -> tuple[Doc, Doc | None]:
    """Void the invoice: a credit note for what is left of it, and the invoice
    void, in one write. Returns the invoice and the credit note (none when
    earlier credit notes left nothing to credit)."""

    def remaining(invoice: Doc) -> Asked:
        if version is not None and version != invoice["version"]:
            raise StaleVersion(invoice["version"])
        if Status(invoice["status"]) not in UNPAID:
            raise IllegalTransition("void", invoice["status"])
        return _remaining(invoice)

    note, invoice = _issue(deps, tenant, invoice_id, remaining, None, voiding=True)
    return invoice, present(note) if note else None


def get(deps: Deps, tenant: str, credit_note_id: str) -> Doc:
    note = deps.store.get(tenant, "credit_note", credit_note_id)
    if note is None:
        raise NotFound("credit note")
    return present(note)


def present(note: Doc) -> Doc:
    return {key: value for key, value in note.items() if key not in ("business", "customer", "late_fees")} | {
        "seller": note["business"].get("legal_name"),
        "customer_name": note["customer"].get("name"),
    }


def reference(note: Doc) -> Doc:
    """The credit note as its invoice lists it."""
    return {key: note[key] for key in ("id", "number", "total", "issue_date")}


# -- the write -------------------------------------------------------------------


def _issue(
    deps: Deps,
    tenant: str,
    invoice_id: str,
    asked_of: Callable[[Doc], Asked],
    reason: str | None,
    *,
    voiding: bool = False,
) -> tuple[Doc | None, Doc]:
    """Number the credit note and record it on the invoice in one
    transaction, retried whole on a lost race. Long because the whole
    read-decide-write attempt must be one closure that until_written can
    run again: nothing of it may happen outside the retried step."""

    def attempt() -> tuple[Doc | None, Doc]:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise NotFound("invoice")
        status = Status(invoice["status"])
        if status not in ISSUED and not voiding:
            raise IllegalTransition("credit", "a draft (edit it instead)" if status is Status.DRAFT else status)
        if invoice.get("kind") == "deposit":
            from invoicing.logic import estimates

            if final := estimates.deducting_final(deps, tenant, invoice):
                raise Conflict(f"the final invoice {final['number']} deducts this deposit invoice: credit that one")
        asked = asked_of(invoice)
        now = deps.timestamp()
        currency = invoice["currency"]
        totals = totals_of(asked.lines, asked.discount, currency)
        if voiding and not totals.total:  # nothing is left to credit (or the invoice asked nothing)
            return None, _void_only(deps, tenant, invoice, now)
        nets = [format_amount(net, currency) for net in totals.line_nets]
        lines = [{**line, "net": net} for line, net in zip(asked.lines, nets, strict=True)]
        if not voiding:
            _check_limits(invoice, lines, totals.total, asked.field)
        business = catalog.get_business(deps, tenant)
        numbering = deps.store.credit_note_sequence(tenant)
        sequence = numbering.last + 1
        view = totals_view(totals)
        view.pop("line_nets")
        note = jsonable(
            {
                "id": deps.new_id("cn"),
                "number": invoice_number(business.get("credit_note_prefix") or "AV-", sequence),
                "status": "issued",
                "invoice_id": invoice["id"],
                "invoice_number": invoice["number"],
                "invoice_issue_date": invoice["issue_date"],
                "currency": currency,
                "issue_date": deps.today().isoformat(),
                "reason": reason or ("Annulation de la facture" if voiding else None),
                "late_fees": invoice.get("late_fees"),  # its notes say the invoice's terms (PMD)
                "lines": lines,
                "discount": asked.discount,
                "totals": view,
                "total": view["total"],
                "business": invoice["business"],
                "customer": invoice["customer"],
                "created_at": now,
                "version": 1,
            }
        )
        after = _credited(invoice, note, now, voiding)
        shown = invoices.present(deps, tenant, after)  # before the write: nothing after it may fail the request
        try:
            deps.store.issue_credit_note(
                tenant, CreditNoteIssue(note, after, expected_version=invoice["version"], sequence=sequence)
            )
        except ConditionFailed:
            raise LostRace from None
        return note, shown

    return until_written(attempt, "too many credit notes are being issued at once")


def _credited(invoice: Doc, note: Doc, now: str, voiding: bool) -> Doc:
    """The invoice once the credit note takes its amount off. Credited in
    full (or voided), an unpaid invoice is void: nothing is asked any more."""
    before, credit = Invoice.of(invoice), CreditNote.of(note)
    credited = before.credited + credit.total
    doc = settled(
        {
            **invoice,
            "credited": format_amount(credited, invoice["currency"]),
            "credit_notes": [*(invoice.get("credit_notes") or []), reference(note)],
            "credited_groups": [*(invoice.get("credited_groups") or []), *stored_groups(credit.groups())],
        },
        now,
    )
    if voiding or (before.status in UNPAID and before.credited_in_full_by(credit)):
        doc = voided(doc, now)
    return doc


def _void_only(deps: Deps, tenant: str, invoice: Doc, now: str) -> Doc:
    doc = voided({**invoice, "updated_at": now, "version": invoice["version"] + 1}, now)
    try:
        deps.store.replace(tenant, "invoice", doc, expected_version=invoice["version"], old_name=None, new_name=None)
    except StaleVersion:
        raise LostRace from None  # a payment or a fee got there first: read again
    return invoices.present(deps, tenant, doc)


# -- what is credited ------------------------------------------------------------


def _asked(deps: Deps, tenant: str, invoice: Doc, request: CreditNoteIn) -> Asked:
    currency = invoice["currency"]
    if request.lines is not None:
        lines, problems = invoices.resolve_lines(deps, tenant, [line.model_dump() for line in request.lines], currency)
        if problems:
            raise InvalidInput(problems)
        return Asked(lines, None, "lines")
    assert request.amount is not None
    amount = Decimal(request.amount)
    if not has_at_most_decimals(amount, minor_unit(currency)):
        raise InvalidInput.of("amount", f"{currency} amounts have at most {minor_unit(currency)} decimals")
    current = Invoice.of(invoice)
    left = current.left_to_credit
    if amount > left:
        raise InvalidInput.of(
            "amount",
            f"{format_amount(amount, currency)} exceeds what the invoice has left to credit "
            f"({format_amount(left, currency)})",
        )
    within = current.groups_left()
    taxes = [tax for group in within for tax in group.taxes]
    if len(taxes) != len(set(taxes)):
        # a tax on lines of different taxes is rounded once over all of them: no group's part is its own
        raise InvalidInput.of("amount", "the invoice has lines with several taxes sharing one: credit it by lines")
    bases = credits.split(amount, within, currency)
    if bases is None or totals_of(_group_lines(invoice, within, bases), None, currency).total != amount:
        below, above = credits.nearest(amount, within, currency)
        options = " or ".join(format_amount(value, currency) for value in (below, above) if value is not None)
        raise InvalidInput.of(
            "amount",
            f"{format_amount(amount, currency)} cannot be split into bases and VAT at the invoice's rates, within "
            f"what it has left to credit, to the cent (VAT is rounded on each base)"
            + (f": credit {options}, or give lines" if options else ""),
        )
    return Asked(_group_lines(invoice, within, bases), None, "amount")


def _remaining(invoice: Doc) -> Asked:
    """What voiding credits: the invoice itself when nothing was credited
    yet; else what each group has left, so that the credit notes add up to
    the invoice's total to the cent, and no rate gets more base credited
    than the invoice charged. When no bases make the total exactly (VAT is
    rounded on each credit note), the cents apart are a line of their own."""
    currency = invoice["currency"]
    current = Invoice.of(invoice)
    if not current.credited:
        lines = [{key: value for key, value in line.items() if key != "net"} for line in invoice["lines"]]
        return Asked(lines, invoice.get("discount"), "lines")
    target = current.left_to_credit
    within = current.groups_left()
    bases = credits.split(target, within, currency, cap_gross=False)
    if bases is None:  # each group as close to what it has left as it can be, not above
        bases = [min(credits.base_within(max(g.gross, ZERO), g.taxes, currency), max(g.base, ZERO)) for g in within]
    lines = _group_lines(invoice, within, bases, "Solde de la facture")
    total = totals_of(lines, None, currency).total if lines else ZERO
    if total != target:  # a price is never negative (BR-27): a cent too many is a quantity of -1
        gap = target - total
        lines.append({"name": "Écart d'arrondi de TVA", "quantity": "1" if gap > 0 else "-1",
                      "unit_price": f"{abs(gap):f}", "taxes": []})  # fmt: skip
    return Asked(lines, None, "lines")


def _check_limits(invoice: Doc, lines: list[Doc], total: Decimal, field: str) -> None:
    """A credit note credits something, in the invoice's groups only, and
    no more than each has left."""
    currency = invoice["currency"]
    credited = [line_of(line) for line in lines]
    problems = [
        FieldError(f"{field}.{i}", "credits nothing: a credited line has a quantity and a price")
        for i, line in enumerate(credited)
        if field == "lines" and not line.net
    ]
    if total <= 0 and not problems:
        problems.append(FieldError(field, "the credit note credits nothing"))
    current = Invoice.of(invoice)
    within = {group.taxes: group for group in current.groups_left()}
    keys = [line.tax_key for line in credited]
    parts = [(key, line.net) for key, line in zip(keys, credited, strict=True)]
    for group in credits.groups(parts, ZERO, [], currency):
        have = within.get(group.taxes)
        if have is None:
            index = keys.index(group.taxes)
            problems.append(
                FieldError(f"{field}.{index}.taxes", f"the invoice has no line with these taxes ({_label(group)})")
            )
        elif group.base > have.base:
            problems.append(
                FieldError(
                    field,
                    f"credits {format_amount(group.base, currency)} of base at {_label(group)}, where the invoice "
                    f"has {format_amount(max(have.base, ZERO), currency)} left to credit",
                )
            )
    left = current.left_to_credit
    if total > left:
        problems.append(
            FieldError(
                field,
                f"the credit note ({format_amount(total, currency)}) exceeds what the invoice has left to credit "
                f"({format_amount(left, currency)})",
            )
        )
    if problems:
        raise InvalidInput(problems)


def _group_lines(
    invoice: Doc, within: list[credits.Group], bases: list[Decimal], label: str = "Avoir sur la facture"
) -> list[dict[str, Any]]:
    """One line a group: "Avoir sur la facture INV-1 — TVA 20 %", its base."""
    label = f"{label} {invoice['number']}"
    several = len([base for base in bases if base > 0]) > 1
    return [
        {
            "name": f"{label} — {_label(group)}" if several else label,
            "quantity": "1",
            "unit_price": format_amount(base, invoice["currency"]),
            "taxes": [{"name": name, "rate": format_rate(rate)} for name, rate in group.taxes],
        }
        for group, base in zip(within, bases, strict=True)
        if base > 0
    ]


def _label(group: credits.Group) -> str:
    return " + ".join(f"{name} {format_rate(rate)} %" for name, rate in group.taxes) or "hors TVA"
