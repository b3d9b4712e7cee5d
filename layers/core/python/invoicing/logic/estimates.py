"""Use cases of estimates (devis, SPEC §11): drafts, numbering (sending),
duplicates, and the invoices made from an accepted estimate.

An estimate is priced as an invoice is — the same lines, discount and
totals function — and numbered in its own gap-free series when it is sent
(`estimate_prefix`, D- by default), with its seller and client as they were
then. Its client accepts or declines it on its public page (logic.quotes).

Invoices made from it (`POST /estimates/{id}/invoices`):
- `deposit`: an issued deposit invoice for the deposit asked (or an amount),
  split over the estimate's VAT groups pro rata (domain.deposits);
- `final`: a draft of the balance: the estimate's lines and discount, less
  one system-made line per deposit invoice and group;
- `full`: a draft invoice of the whole, when no deposit was invoiced.
Each is made under a deterministic id (the estimate, the kind and how many
invoices it had), and the estimate lists it under the version read: a
retried or concurrent request finds the invoice it would make already made,
and two requests never make two invoices where one was allowed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from invoicing.domain import deposits
from invoicing.domain.document import Document
from invoicing.domain.errors import Conflict, FieldError, InvalidInput, NameTaken, NotFound, StaleVersion
from invoicing.domain.estimate import (
    EstimateStatus,
    conversion_problem,
    default_valid_until,
    ensure_editable,
    expires_on,
    lapsed,
    numbering_problems,
)
from invoicing.domain.lifecycle import ISSUED, copy_name, invoice_number, legal_problems, name_key, numbered_name
from invoicing.domain.money import format_amount
from invoicing.logic import catalog, invoices, listing, quotes
from invoicing.logic.common import Deps, jsonable, keyed_id
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.totals import money_problems, totals_of, totals_view
from invoicing.models.common import sent
from invoicing.models.estimates import EstimateIn, EstimateInvoiceIn, EstimatePatch
from invoicing.ports import ConditionFailed, Doc, EstimateIssue, InvoiceQuery, PageOf

KIND = "estimate"
ISSUED_STATUSES = frozenset(status.value for status in ISSUED)
NAME_ATTEMPTS = 20
# Kept on the document, never shown: the public page's base URL and the day the sweep expires it.
# and how many invoices were ever made from it (their ids count them).
INTERNAL = frozenset({"quote_base_url", "sweep_expiry_on", "invoices_made", "draft_customer_name"})
_DETAIL = frozenset({"lines", "notes", "terms", "business", "customer"})
_COPIED = ("customer_id", "currency", "discount", "deposit", "notes", "terms", "lines", "delivery_address")


# -- drafts ----------------------------------------------------------------------


def create_estimate(deps: Deps, tenant: str, data: EstimateIn) -> Doc:
    business = catalog.get_business(deps, tenant)
    fields = sent(data)
    now = deps.timestamp()
    doc = _draft(
        deps,
        tenant,
        {
            "id": deps.new_id("est"),
            "status": EstimateStatus.DRAFT.value,
            "number": None,
            "customer_id": None,
            "currency": business.get("default_currency") or "EUR",
            "issue_date": None,
            "valid_until": None,
            "delivery_address": None,
            "discount": None,
            "deposit": None,
            "notes": business.get("default_notes"),
            "terms": business.get("default_terms"),
            "lines": [],
            **{key: value for key, value in fields.items() if value is not None or key not in ("currency",)},
            "acceptance": None,
            "decline": None,
            "sent_at": None,
            "expired_at": None,
            "invoiced_at": None,
            "invoices": [],
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
    )
    deps.store.create(tenant, KIND, doc, name=name_key(doc["name"]))
    return present(deps, tenant, doc)


def get_estimate(deps: Deps, tenant: str, estimate_id: str) -> Doc:
    """The estimate, its invoices as they now stand (a final invoice made a
    draft has its number once issued; a deposit invoice gets paid); a final
    or full draft deleted since is no longer listed, and the estimate is
    to be invoiced again."""
    estimate = present(deps, tenant, load(deps, tenant, estimate_id))
    standing = [_as_it_stands(deps, tenant, entry) for entry in estimate["invoices"]]
    estimate["invoices"] = [entry for entry in standing if entry is not None]
    whole = any(entry["kind"] in ("final", "full") for entry in estimate["invoices"])
    if estimate["status"] == EstimateStatus.INVOICED and not whole:
        estimate["status"] = EstimateStatus.ACCEPTED.value
    return estimate


def _as_it_stands(deps: Deps, tenant: str, entry: Doc) -> Doc | None:
    invoice = deps.store.get(tenant, "invoice", entry["id"])
    return None if invoice is None else _entry(entry["kind"], invoice)


def list_estimates(
    deps: Deps,
    tenant: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    customer_id: str | None,
    search: listing.Search = listing.Search(),
) -> PageOf:
    query = InvoiceQuery(status=status, customer_id=customer_id)
    page = listing.find(deps, tenant, KIND, query, search, limit=limit, cursor=cursor)
    return PageOf(
        [summary(present(deps, tenant, doc), doc.get("draft_customer_name")) for doc in page.items], page.cursor
    )


def summary(estimate: Doc, draft_customer_name: str | None = None) -> Doc:
    """An estimate as lists show it: without its lines and long texts."""
    customer = estimate.get("customer") or {}
    return {
        **{key: value for key, value in estimate.items() if key not in _DETAIL},
        "line_count": len(estimate["lines"]),
        "customer_name": customer.get("name") or draft_customer_name,
    }


def update_estimate(deps: Deps, tenant: str, estimate_id: str, patch: EstimatePatch, if_match: int | None) -> Doc:
    current = load(deps, tenant, estimate_id)
    changes = sent(patch)
    expected = catalog.expected_version(changes.pop("version", None), if_match)
    if expected is None:
        raise InvalidInput.of("version", "send the version you read (in the body or as If-Match)")
    ensure_editable(EstimateStatus(current["status"]))
    if expected != current["version"]:
        raise StaleVersion(current["version"])
    for required in ("name", "currency", "lines"):
        if required in changes and changes[required] is None:
            raise InvalidInput.of(required, "cannot be null")
    doc = _draft(
        deps,
        tenant,
        {**current, **changes, "version": current["version"] + 1, "updated_at": deps.timestamp()},
        check_customer="customer_id" in changes,
    )
    deps.store.replace(
        tenant,
        KIND,
        doc,
        expected_version=current["version"],
        old_name=name_key(current["name"]),
        new_name=name_key(doc["name"]),
        require_draft=True,
    )
    return present(deps, tenant, doc)


def delete_estimate(deps: Deps, tenant: str, estimate_id: str, version: int | None) -> None:
    current = load(deps, tenant, estimate_id)
    ensure_editable(EstimateStatus(current["status"]))
    deps.store.delete(
        tenant, KIND, estimate_id, expected_version=version, name=name_key(current["name"]), require_draft=True
    )


def duplicate_estimate(deps: Deps, tenant: str, estimate_id: str) -> Doc:
    """A new draft with the same content (whatever became of the original:
    a declined estimate is often quoted again, revised)."""
    source = load(deps, tenant, estimate_id)
    data = {key: source.get(key) for key in _COPIED}
    data["lines"] = [{k: v for k, v in line.items() if k != "net"} for line in source["lines"]]
    if data.get("customer_id") and deps.store.get(tenant, "customer", data["customer_id"]) is None:
        data["customer_id"] = None  # the customer was deleted since
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = copy_name(source["name"], attempt)
        try:
            return create_estimate(deps, tenant, EstimateIn.model_validate({**data, "name": name}))
        except NameTaken:
            continue
    raise NameTaken(KIND, copy_name(source["name"], NAME_ATTEMPTS))


# -- sending (numbering) ---------------------------------------------------------------


def issue_estimate(deps: Deps, tenant: str, estimate_id: str, version: int | None, public_url: str) -> tuple[Doc, bool]:
    """Draft → sent: snapshot the business and the customer, take the next
    number of the estimates' series, set its validity. Sending a sent (or
    later) estimate again changes nothing. Returns the estimate and whether
    this call numbered it."""

    def attempt() -> tuple[Doc, bool]:
        current = load(deps, tenant, estimate_id)
        if version is not None and version != current["version"]:
            raise StaleVersion(current["version"])
        if current["status"] != EstimateStatus.DRAFT:
            return present(deps, tenant, current), False
        business = deps.store.get(tenant, "business", catalog.BUSINESS_ID)
        customer = current["customer_id"] and deps.store.get(tenant, "customer", current["customer_id"])
        today = deps.today()
        issue_date = _date(current["issue_date"]) or today
        validity = (business or {}).get("estimate_validity_days", 30)
        valid_until = _date(current["valid_until"]) or default_valid_until(issue_date, validity)
        numbering = deps.store.estimate_sequence(tenant)
        problems = numbering_problems(
            has_business=business is not None,
            has_customer=bool(customer),
            line_count=len(current["lines"]),
            issue_date=issue_date,
            valid_until=valid_until,
            today=today,
            last_issue_date=_date(numbering.last_issue_date),
        )
        if business and customer:
            problems += legal_problems(business, customer, current["lines"])
        if problems:
            raise InvalidInput(problems)
        assert business is not None
        assert customer
        sequence = numbering.last + 1
        number = invoice_number(business.get("estimate_prefix") or "D-", sequence)
        dates = (issue_date, valid_until)
        numbered = _numbered(current, business, customer, number, dates, public_url, deps.timestamp())
        token_hash = quotes.token_hash(quotes.token(deps, tenant, current["id"]))
        step = EstimateIssue(numbered, current["version"], sequence, token_hash)
        try:
            deps.store.issue_estimate(tenant, step)
        except ConditionFailed:
            raise LostRace from None  # another estimate took the number, or the draft changed
        return present(deps, tenant, numbered), True

    return until_written(attempt, "too many estimates are being sent at once")


def _numbered(
    draft: Doc, business: Doc, customer: Doc, number: str, dates: tuple[date, date], public_url: str, now: str
) -> Doc:
    """The draft as the sent estimate it becomes: the seller and the client
    as they are now (snapshots), its number and dates, the day it expires."""
    issue_date, valid_until = dates
    client = {key: value for key, value in customer.items() if key not in ("version", "created_at", "updated_at")}
    return {
        **draft,
        "status": EstimateStatus.SENT.value,
        "number": number,
        "issue_date": issue_date.isoformat(),
        "valid_until": valid_until.isoformat(),
        "business": invoices.business_snapshot(business),
        "customer": client,
        "quote_base_url": public_url,
        "sweep_expiry_on": expires_on(valid_until).isoformat(),
        "sent_at": now,
        "updated_at": now,
        "version": draft["version"] + 1,
    }


# -- invoices made from it ---------------------------------------------------------------


def make_invoice(deps: Deps, tenant: str, estimate_id: str, request: EstimateInvoiceIn, public_url: str) -> Doc:
    """The invoice of `request.kind` made from the accepted estimate (see the
    module's docstring): a deposit invoice issued, a final or full draft."""

    def attempt() -> Doc:
        estimate = load(deps, tenant, estimate_id)
        made = _made(deps, tenant, estimate)
        unissued = next((doc for kind, doc in made if kind == "deposit" and doc["status"] == "draft"), None)
        if unissued is not None:  # left by a request that died between making it and issuing it
            if request.kind == "deposit" and request.amount in (None, Decimal(unissued["totals"]["total"])):
                return _issued_deposit(deps, tenant, estimate, unissued["id"], public_url)
            raise Conflict(f"deposit invoice {unissued['id']} waits to be issued: issue it (mark-sent) or delete it")
        status = EstimateStatus(estimate["status"])
        if status is EstimateStatus.INVOICED and not any(kind in ("final", "full") for kind, _ in made):
            status = EstimateStatus.ACCEPTED  # its final draft was deleted: it is to be invoiced again
        taken = [doc for kind, doc in made if kind == "deposit" and doc["status"] in ISSUED_STATUSES]
        left = _deposit_left(estimate, taken)
        problem = conversion_problem(status, request.kind, [kind for kind, _ in made], left)
        if problem:
            raise Conflict(problem)
        if request.kind == "deposit":
            _check_issuable(deps, tenant, estimate)
        # Its id: the estimate, the how-many-th invoice made from it (a count that only grows), and what
        # is asked: a retry after a crash finds it, a concurrent request asking the same makes the same.
        count = estimate.get("invoices_made", len(estimate.get("invoices") or []))
        invoice_id = keyed_id("inv", tenant, estimate_id, str(count), request.kind, str(request.amount or ""))
        existing = deps.store.get(tenant, "invoice", invoice_id)
        if existing is None:
            fields, made_from = _invoice_fields(estimate, Document.of(estimate), request, taken, left)
            existing = _create(deps, tenant, estimate, invoice_id, fields, made_from)
        now = deps.timestamp()
        kept = [item for item in estimate.get("invoices") or [] if item["id"] in {doc["id"] for _, doc in made}]
        listed = {**estimate, "invoices": [*kept, _entry(request.kind, existing)], "invoices_made": count + 1,
                  "updated_at": now, "version": estimate["version"] + 1}  # fmt: skip
        if request.kind in ("final", "full"):
            listed |= {"status": EstimateStatus.INVOICED.value, "invoiced_at": now}
        try:
            deps.store.replace(tenant, KIND, listed, expected_version=estimate["version"], old_name=None, new_name=None)
        except StaleVersion:
            again = load(deps, tenant, estimate_id)
            if not any(item["id"] == invoice_id for item in again.get("invoices") or []):
                if existing["status"] == "draft":  # another invoice took its place: this one is not made
                    invoices.delete_invoice(deps, tenant, invoice_id, existing["version"])
                raise LostRace from None
            listed = again  # a concurrent request listed the same invoice: this one answers it too
        if request.kind == "deposit":
            return _issued_deposit(deps, tenant, listed, invoice_id, public_url)
        return invoices.get_invoice(deps, tenant, invoice_id)

    return until_written(attempt, "too many invoices are being made from this estimate at once")


def _entry(kind: str, invoice: Doc) -> Doc:
    """An invoice as the estimate lists it."""
    return {"id": invoice["id"], "kind": kind, "number": invoice.get("number"), "issue_date": invoice.get("issue_date"),
            "total": invoice["totals"]["total"], "status": invoice["status"]}  # fmt: skip


def _check_issuable(deps: Deps, tenant: str, estimate: Doc) -> None:
    """What would stop its deposit invoice from being issued, found before
    it is made: the mentions the profiles lack (a client's SIREN, say)."""
    business = deps.store.get(tenant, "business", catalog.BUSINESS_ID) or {}
    customer = deps.store.get(tenant, "customer", estimate["customer_id"]) if estimate.get("customer_id") else None
    if customer is None:
        raise InvalidInput.of("customer_id", "the estimate's customer was deleted: an invoice is issued to a customer")
    problems = legal_problems(business, customer, estimate["lines"])
    if problems:
        raise InvalidInput(problems)


def _issued_deposit(deps: Deps, tenant: str, estimate: Doc, invoice_id: str, public_url: str) -> Doc:
    """Issue the deposit invoice, and record its number on the estimate. One
    that cannot be issued (a profile changed meanwhile) is not kept: a
    deposit invoice is never a draft anyone could edit or forget."""
    try:
        invoice, _ = invoices.finalize_invoice(deps, tenant, invoice_id, None, public_url)
    except (InvalidInput, Conflict):
        _withdraw(deps, tenant, estimate["id"], invoice_id)
        raise
    _record(deps, tenant, estimate["id"], invoice)
    return invoice


def _withdraw(deps: Deps, tenant: str, estimate_id: str, invoice_id: str) -> None:
    """A deposit draft that could not be issued: deleted, and off the estimate's list."""
    draft = deps.store.get(tenant, "invoice", invoice_id)
    if draft is not None and draft["status"] == "draft":
        invoices.delete_invoice(deps, tenant, invoice_id, draft["version"])
    _record(deps, tenant, estimate_id, None, withdrawn=invoice_id)


def _record(deps: Deps, tenant: str, estimate_id: str, invoice: Doc | None, withdrawn: str | None = None) -> None:
    """The estimate's entry of an invoice made from it, as the invoice now
    stands (or, `withdrawn`, no longer listed)."""

    def attempt() -> None:
        estimate = load(deps, tenant, estimate_id)
        entries = estimate.get("invoices") or []
        updated = [
            _entry(entry["kind"], invoice) if invoice is not None and entry["id"] == invoice["id"] else entry
            for entry in entries
            if entry["id"] != withdrawn
        ]
        if updated == entries:
            return
        try:
            deps.store.replace(
                tenant, KIND, {**estimate, "invoices": updated, "version": estimate["version"] + 1},
                expected_version=estimate["version"], old_name=None, new_name=None,
            )  # fmt: skip
        except StaleVersion:
            raise LostRace from None

    until_written(attempt, "the estimate is being changed by too many requests at once")


def _invoice_fields(
    estimate: Doc, document: Document, request: EstimateInvoiceIn, taken: list[Doc], left: Decimal | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The content of the invoice to make (its lines), and what it says it is
    (its kind, its estimate, the deposit invoices a final one deducts: BG-3)."""
    currency = estimate["currency"]
    made_from: dict[str, Any] = {
        "kind": "standard" if request.kind == "full" else request.kind,
        "estimate_id": estimate["id"],
        "estimate_number": estimate["number"],
    }
    # an invoice's notes and terms are the business's for invoices (payment terms), not the estimate's
    common = {"customer_id": estimate["customer_id"], "currency": currency,
              "delivery_address": estimate.get("delivery_address")}  # fmt: skip
    if request.kind == "deposit":
        amount, exact = request.amount, True
        if amount is None:
            if left is None:
                raise InvalidInput.of("amount", "the estimate asks no deposit: say how much (tax included)")
            amount, exact = left, False
        room = document.total - sum((deposits.kept_total(invoice) for invoice in taken), Decimal(0))
        if amount > room:
            raise InvalidInput.of(
                "amount", f"more than the estimate's total less its deposit invoices ({format_amount(room, currency)})"
            )
        # "Acompte de 30 %" only on the invoice that asks the whole percentage
        whole = request.amount is None and not taken
        label = deposits.label(estimate["deposit"] if whole else None, estimate["number"])
        lines = deposits.deposit_lines(document.groups(), taken, amount, currency, label, exact=exact)
        return {**common, "lines": lines, "discount": None}, made_from
    stored_lines = [{k: v for k, v in line.items() if k != "net"} for line in estimate["lines"]]
    if request.kind == "final":
        stored_lines += deposits.deduction_lines(taken)
        made_from["deposit_invoices"] = [
            {"id": invoice["id"], "number": invoice["number"], "issue_date": invoice["issue_date"]} for invoice in taken
        ]
    return {**common, "lines": stored_lines, "discount": estimate.get("discount")}, made_from


def _create(
    deps: Deps, tenant: str, estimate: Doc, invoice_id: str, fields: dict[str, Any], made_from: dict[str, Any]
) -> Doc:
    """The invoice as a draft under its deterministic id, named after the
    estimate (numbered when the name is taken)."""
    suffix = {"deposit": " — acompte", "final": " — solde"}.get(made_from["kind"], "")
    base = f"{estimate['name'][: 200 - len(suffix)]}{suffix}"
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = base if attempt == 1 else numbered_name(base, attempt)
        try:
            return invoices.create_made(deps, tenant, invoice_id, {**fields, "name": name}, made_from)
        except NameTaken:
            continue
        except ConditionFailed:  # made by a concurrent request: the same invoice
            made = deps.store.get(tenant, "invoice", invoice_id)
            assert made is not None
            return made
    raise NameTaken("invoice", numbered_name(base, NAME_ATTEMPTS))


def _deposit_left(estimate: Doc, taken: list[Doc]) -> Decimal | None:
    """What of the deposit asked is not invoiced yet (None: it asks none)."""
    if not estimate.get("deposit_amount"):
        return None
    invoiced = sum((deposits.kept_total(invoice) for invoice in taken), Decimal(0))
    return max(Decimal(estimate["deposit_amount"]) - invoiced, Decimal(0))


def deducting_final(deps: Deps, tenant: str, deposit: Doc) -> Doc | None:
    """The issued final invoice that deducts this deposit invoice, if any:
    crediting the deposit then would charge the client less than the estimate."""
    estimate = deps.store.get(tenant, KIND, deposit.get("estimate_id") or "")
    for kind, doc in _made(deps, tenant, estimate) if estimate else []:
        deducts = any(line.get(invoices.SYSTEM_LINE) == deposit["id"] for line in doc["lines"])
        if kind == "final" and doc["status"] in ISSUED_STATUSES and deducts:
            return doc
    return None


def _made(deps: Deps, tenant: str, estimate: Doc) -> list[tuple[str, Doc]]:
    """The invoices made from the estimate that still exist, with the kind
    each was made as (a final or full draft may have been deleted since)."""
    entries = estimate.get("invoices") or []
    found = [(entry["kind"], deps.store.get(tenant, "invoice", entry["id"])) for entry in entries]
    return [(kind, doc) for kind, doc in found if doc is not None]


# -- helpers -----------------------------------------------------------------------


def present(deps: Deps, tenant: str, doc: Doc) -> Doc:
    """The stored estimate plus its public link; an estimate sent and past
    its last valid day shows `expired` before the sweep has recorded it."""
    shown = {key: value for key, value in doc.items() if key not in INTERNAL}
    status = EstimateStatus(doc["status"])
    if lapsed(status, _date(doc.get("valid_until")), deps.today()):
        shown["status"] = EstimateStatus.EXPIRED.value
    shown["quote_link"] = quotes.link(deps, tenant, doc)
    return shown


def load(deps: Deps, tenant: str, estimate_id: str) -> Doc:
    doc = deps.store.get(tenant, KIND, estimate_id)
    if doc is None:
        raise NotFound(KIND)
    return doc


def _draft(deps: Deps, tenant: str, doc: Doc, *, check_customer: bool = True) -> Doc:
    """Complete a draft: products filled in, references checked, totals and
    the deposit asked computed."""
    doc = jsonable(doc)
    currency = doc["currency"]
    lines, problems = invoices.resolve_lines(deps, tenant, doc["lines"], currency)
    if check_customer:
        problems += catalog.chosen_customer(deps, tenant, doc)
    problems += money_problems(
        [("discount.value", doc.get("discount")), ("deposit.value", doc.get("deposit"))], currency
    )
    if doc.get("issue_date") and doc.get("valid_until") and doc["valid_until"] < doc["issue_date"]:
        problems.append(FieldError("valid_until", "before the issue date"))
    if problems:
        raise InvalidInput(problems)
    doc["discount"] = invoices.shown_discount(doc.get("discount"), currency)
    totals = totals_of(lines, doc.get("discount"), currency)
    doc["lines"] = [
        {**line, "net": format_amount(net, currency)} for line, net in zip(lines, totals.line_nets, strict=True)
    ]
    view = totals_view(totals)
    view.pop("line_nets")
    doc["totals"] = view
    doc["deposit_amount"] = None
    if doc.get("deposit"):
        asked, deposit_problems = deposits.asked(doc["deposit"], totals.total, currency)
        if deposit_problems:
            raise InvalidInput(deposit_problems)
        doc["deposit"] = invoices.shown_discount(doc["deposit"], currency)
        reachable = _reachable(doc, asked)
        if reachable <= 0 < totals.total:
            raise InvalidInput.of("deposit.value", "the deposit comes to nothing: ask more, or send deposit: null")
        doc["deposit_amount"] = format_amount(reachable, currency)
    return doc


def _reachable(doc: Doc, asked: Decimal) -> Decimal:
    """The deposit its invoice will ask to the cent: a percentage's nearest
    amount that bases and their VAT make; a fixed amount only if they make
    it exactly (else a 422 naming the nearest ones), since the business chose it."""
    exact = doc["deposit"]["type"] == "fixed"
    try:
        return deposits.reachable(Document.of(doc).groups(), asked, doc["currency"], exact=exact)
    except InvalidInput as problem:
        raise InvalidInput([FieldError("deposit.value", error.message) for error in problem.errors]) from None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
