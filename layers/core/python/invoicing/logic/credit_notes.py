"""Use cases of credit notes (avoirs): an issued invoice is never edited or
deleted; what it no longer asks is taken off by a credit note, a numbered
document of its own that names the invoice (CGI art. 272, EN 16931 type
381 with the preceding invoice, BG-3).

- `POST /invoices/{id}/credit-notes` credits lines or an amount, at most
  what the invoice still has to credit (its total less earlier credit notes).
- Voiding an invoice credits what is left of it: the invoice itself (its
  lines and discount) when nothing was credited yet, else what each VAT rate
  has left.
- The credit note takes the next number of its own series (the business's
  `credit_note_prefix`, AV- by default) and the invoice records it, in one
  transaction: numbers have no gaps, and no credit note exists that its
  invoice does not list.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from invoicing import events
from invoicing.domain import credits
from invoicing.domain.errors import Busy, IllegalTransition, InvalidInput, NotFound, StaleVersion
from invoicing.domain.lifecycle import ISSUED, UNPAID, Status, invoice_number
from invoicing.domain.money import ZERO, format_amount
from invoicing.logic import catalog, invoices, payments, sweeps
from invoicing.logic.common import Deps, announce, jsonable
from invoicing.models.credit_notes import CreditNoteIn
from invoicing.store.ports import ConditionFailed, CreditNoteIssue, Doc

ATTEMPTS = 40
# The lines a credit note takes, its discount, and the request's field they came from.
Asked = tuple[list[dict[str, Any]], dict[str, Any] | None, str]


def issue(deps: Deps, tenant: str, invoice_id: str, request: CreditNoteIn) -> Doc:
    """A credit note of the lines or the amount asked, on an issued invoice."""
    note, _ = _issue(deps, tenant, invoice_id, lambda invoice: _asked(deps, tenant, invoice, request), request.reason)
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
    return {key: value for key, value in note.items() if key not in ("business", "customer")} | {
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
    lines_of: Callable[[Doc], Asked],
    reason: str | None,
    *,
    voiding: bool = False,
) -> tuple[Doc, Doc]:
    for attempt in range(ATTEMPTS):
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise NotFound("invoice")
        status = Status(invoice["status"])
        if status not in ISSUED and not voiding:
            raise IllegalTransition("credit", "a draft (edit it instead)" if status is Status.DRAFT else status)
        lines, discount, field = lines_of(invoice)
        currency = invoice["currency"]
        if voiding and not lines:  # credit notes took every base already: nothing is left to credit
            return {}, _void_only(deps, tenant, invoice)
        totals = invoices.totals_of(lines, discount, currency)
        left = _creditable(invoice)
        if not voiding and totals.total > left:
            raise InvalidInput.of(
                field,
                f"the credit note ({format_amount(totals.total, currency)}) exceeds what the invoice has left to "
                f"credit ({format_amount(left, currency)})",
            )
        business = catalog.get_business(deps, tenant)
        numbering = deps.store.credit_note_sequence(tenant)
        sequence = numbering.last + 1
        now = deps.timestamp()
        view = invoices.totals_view(totals)
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
                "lines": [
                    {**line, "net": format_amount(net, currency)}
                    for line, net in zip(lines, totals.line_nets, strict=True)
                ],
                "discount": discount,
                "totals": view,
                "total": view["total"],
                "business": invoices.business_snapshot(business),
                "customer": invoice["customer"],
                "created_at": now,
                "version": 1,
            }
        )
        after = _credited(invoice, note, now, voiding)
        try:
            deps.store.issue_credit_note(
                tenant, CreditNoteIssue(note, after, expected_version=invoice["version"], sequence=sequence)
            )
        except ConditionFailed:
            time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 10)))
            continue
        announce(deps, events.CREDIT_NOTE_ISSUED, tenant, after, credit_note_id=note["id"])
        if voiding:
            announce(deps, events.INVOICE_VOIDED, tenant, after)
        return note, invoices.present(deps, tenant, after)
    raise Busy("too many credit notes are being issued at once; nothing was changed, retry")


def _credited(invoice: Doc, note: Doc, now: str, voiding: bool) -> Doc:
    """The invoice once the credit note takes its amount off. Credited in
    full (or voided), an unpaid invoice is void: nothing is asked any more."""
    credited = Decimal(invoice.get("credited") or 0) + Decimal(note["total"])
    doc = payments.settled(
        {
            **invoice,
            "credited": format_amount(credited, invoice["currency"]),
            "credit_notes": [*(invoice.get("credit_notes") or []), reference(note)],
            "credited_breakdown": [*(invoice.get("credited_breakdown") or []), *_bases_of(note)],
        },
        now,
    )
    was_unpaid = Status(invoice["status"]) in UNPAID
    if voiding or (was_unpaid and credited >= Decimal(invoice["totals"]["total"])):
        doc = sweeps.plan({**doc, "status": Status.VOID.value, "voided_at": now, "paid_at": None})
    return doc


def _void_only(deps: Deps, tenant: str, invoice: Doc) -> Doc:
    now = deps.timestamp()
    doc = sweeps.plan(
        {**invoice, "status": Status.VOID.value, "voided_at": now, "updated_at": now, "version": invoice["version"] + 1}
    )
    deps.store.replace(tenant, "invoice", doc, expected_version=invoice["version"], old_name=None, new_name=None)
    announce(deps, events.INVOICE_VOIDED, tenant, doc)
    return invoices.present(deps, tenant, doc)


def _bases_of(note: Doc) -> list[Doc]:
    """The bases a credit note takes, by taxes (voiding credits what is left)."""
    totals = note["totals"]
    entries = [{"taxes": [[e["name"], e["rate"]]], "base": e["base"]} for e in totals["tax_breakdown"]]
    untaxed = (
        Decimal(totals["subtotal"]) - Decimal(totals["discount"]) - sum((Decimal(e["base"]) for e in entries), ZERO)
    )
    if untaxed:
        entries.append({"taxes": [], "base": format_amount(untaxed, note["currency"])})
    return entries


def _creditable(invoice: Doc) -> Decimal:
    return Decimal(invoice["totals"]["total"]) - Decimal(invoice.get("credited") or 0)


# -- what is credited ------------------------------------------------------------


def _asked(deps: Deps, tenant: str, invoice: Doc, request: CreditNoteIn) -> Asked:
    currency = invoice["currency"]
    if request.lines is not None:
        lines, problems = invoices.resolve_lines(deps, tenant, [line.model_dump() for line in request.lines], currency)
        if problems:
            raise InvalidInput(problems)
        return lines, None, "lines"
    assert request.amount is not None
    amount = Decimal(request.amount)
    groups = _groups(invoice)
    bases = credits.split(amount, groups, currency)
    if bases is None:
        below, above = credits.nearest(amount, groups, currency)
        options = " or ".join(format_amount(value, currency) for value in (below, above) if value is not None)
        raise InvalidInput.of(
            "amount",
            f"{format_amount(amount, currency)} cannot be split into bases and VAT at the invoice's rates to the "
            f"cent (VAT is rounded on each base): credit {options}, or give lines",
        )
    label = request.reason or f"Avoir sur la facture {invoice['number']}"
    return _group_lines(groups, bases, label, currency), None, "amount"


def _remaining(invoice: Doc) -> Asked:
    """What voiding credits: the invoice itself when nothing was credited
    yet; else each VAT rate's base less what earlier credit notes took."""
    currency = invoice["currency"]
    if not Decimal(invoice.get("credited") or 0):
        lines = [{key: value for key, value in line.items() if key != "net"} for line in invoice["lines"]]
        return lines, invoice.get("discount"), "lines"
    groups = _groups(invoice)
    taken = _credited_bases(invoice)
    bases = [max(group.base - taken.get(group.taxes, ZERO), ZERO) for group in groups]
    return _group_lines(groups, bases, f"Solde de la facture {invoice['number']}", currency), None, "lines"


def _groups(invoice: Doc) -> list[credits.Group]:
    """The invoice's parts by taxes: each entry of its VAT breakdown, and the
    part that carries no tax, if any."""
    totals = invoice["totals"]
    groups = [
        credits.Group(((entry["name"], Decimal(entry["rate"])),), Decimal(entry["base"]), Decimal(entry["tax"]))
        for entry in totals["tax_breakdown"]
    ]
    untaxed = Decimal(totals["subtotal"]) - Decimal(totals["discount"]) - sum((g.base for g in groups), ZERO)
    if untaxed > 0:
        groups.append(credits.Group((), untaxed, ZERO))
    return groups


def _credited_bases(invoice: Doc) -> dict[tuple[tuple[str, Decimal], ...], Decimal]:
    """The bases the invoice's credit notes took, by taxes (their totals are
    on the invoice's list only; their breakdowns are on the invoice too)."""
    taken: dict[tuple[tuple[str, Decimal], ...], Decimal] = {}
    for entry in invoice.get("credited_breakdown") or []:
        key = tuple((tax[0], Decimal(tax[1])) for tax in entry["taxes"])
        taken[key] = taken.get(key, ZERO) + Decimal(entry["base"])
    return taken


def _group_lines(groups: list[credits.Group], bases: list[Decimal], label: str, currency: str) -> list[dict[str, Any]]:
    several = len(groups) > 1
    return [
        {
            "name": f"{label} — {_taxes_label(group)}" if several else label,
            "quantity": "1",
            "unit_price": format_amount(base, currency),
            "taxes": [{"name": name, "rate": f"{rate.normalize():f}"} for name, rate in group.taxes],
        }
        for group, base in zip(groups, bases, strict=True)
        if base > 0
    ]


def _taxes_label(group: credits.Group) -> str:
    return " + ".join(f"{name} {rate.normalize():f} %" for name, rate in group.taxes) or "hors TVA"
