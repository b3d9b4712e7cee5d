"""Use cases of invoices: drafts, finalization (numbering), void, duplicate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from invoicing.domain import lifecycle, schedule
from invoicing.domain.errors import Conflict, FieldError, InvalidInput, NameTaken, NotFound, StaleVersion
from invoicing.domain.invoice import Invoice, instalments_shown, planned, schedule_of
from invoicing.domain.lifecycle import Status
from invoicing.domain.money import ZERO, format_amount
from invoicing.logic import catalog, listing, paylinks
from invoicing.logic.common import Deps, jsonable, validated
from invoicing.logic.listing import Search
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.totals import discounts_of, money_problems, totals_of, totals_view
from invoicing.models.common import sent
from invoicing.models.invoices import InvoiceIn, InvoicePatch
from invoicing.models.settings import PaymentMethods, Reminders, Tips
from invoicing.ports import ConditionFailed, Doc, Finalization, InvoiceQuery, PageOf

DUPLICATE_NAME_ATTEMPTS = 20
SYSTEM_LINE = "deposit_invoice_id"  # a final invoice's line deducting a deposit invoice (logic.estimates)
_COPIED = (
    "customer_id",
    "currency",
    "discount",
    "notes",
    "terms",
    "late_fees",
    "tips",
    "payment_schedule",
    "payment_methods",
    "lines",
    "delivery_address",
)
# What a document an invoice is made from may say of it that a client may say as well.
_MADE_AS_SENT = ("service_period",)
_DETAIL = frozenset({"lines", "notes", "terms", "business", "customer", "payments"})
# Kept on the document, never shown: uploads reserved but not confirmed (logic.attachments).
# and where the payment link points (logic.paylinks derives the link itself).
# and the days the scheduled sweeps next have work for it (logic.sweeps).
# and the bases credit notes took, by taxes (logic.credit_notes).
INTERNAL = frozenset(
    {"uploads", "pay_base_url", "sweep_late_fees_on", "sweep_reminders_on", "sweep_overdue_on", "reminders_done",
     "credited_groups", "version_viewed_at", "draft_customer_name"}
)  # fmt: skip
_SNAPSHOT_BUSINESS = (
    "legal_name", "address", "email", "phone", "siren", "vat_number", "logo_url", "locale", "vat_franchise",
    "early_payment_terms", "logo", "iban", "bic", "operations", "legal_form", "share_capital", "trade_register",
    "vat_on_debits",
)  # fmt: skip


# -- drafts ----------------------------------------------------------------------


def create_invoice(deps: Deps, tenant: str, data: InvoiceIn) -> Doc:
    _no_system_lines(sent(data).get("lines") or [])
    return _create(deps, tenant, data, deps.new_id("inv"), {})


def create_made(deps: Deps, tenant: str, invoice_id: str, fields: dict[str, Any], made_from: dict[str, Any]) -> Doc:
    """A draft made from another document under the id given (an estimate's
    invoice, logic.estimates; a recurring invoice's, logic.recurring), saying
    what it is (`made_from`: its kind, its estimate; its recurring invoice and
    the service period it bills); ConditionFailed when a draft has that id
    already. What `made_from` says that a client could say too (the service
    period) is checked and stored as the client's would be."""
    fields = {**fields, **{key: made_from[key] for key in _MADE_AS_SENT if key in made_from}}
    made_from = {key: value for key, value in made_from.items() if key not in _MADE_AS_SENT}
    return _create(deps, tenant, validated(InvoiceIn, fields), invoice_id, made_from)


def _create(deps: Deps, tenant: str, data: InvoiceIn, invoice_id: str, made_from: dict[str, Any]) -> Doc:
    business = catalog.get_business(deps, tenant)
    fields = sent(data)
    defaults = {
        "currency": business.get("default_currency") or "EUR",
        "notes": business.get("default_notes"),
        "terms": business.get("default_terms"),
        "late_fees": business.get("late_fees"),
        "tips": jsonable(Tips().model_dump()),
        "payment_methods": jsonable(PaymentMethods().model_dump()),
    }
    fields = {key: fields[key] if fields.get(key) is not None else value for key, value in defaults.items()} | {
        key: value for key, value in fields.items() if key not in defaults
    }
    now = deps.timestamp()
    doc = _draft(
        deps,
        tenant,
        {
            "id": invoice_id,
            "kind": "standard",
            "status": Status.DRAFT.value,
            "number": None,
            "customer_id": None,
            "issue_date": None,
            "due_date": None,
            "service_date": None,
            "service_period": None,
            "purchase_order": None,
            "delivery_address": None,
            "discount": None,
            "payment_schedule": None,
            "lines": [],
            **fields,
            **made_from,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
    )
    deps.store.create(tenant, "invoice", doc, name=lifecycle.name_key(doc["name"]))
    return present(deps, tenant, doc)


def get_invoice(deps: Deps, tenant: str, invoice_id: str) -> Doc:
    return present(deps, tenant, load(deps, tenant, invoice_id))


def list_invoices(
    deps: Deps,
    tenant: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    customer_id: str | None,
    overdue: bool | None,
    search: Search = Search(),
) -> PageOf:
    today = deps.today().isoformat()
    query = InvoiceQuery(
        status=status,
        customer_id=customer_id,
        overdue_before=today if overdue else None,
        not_overdue_before=today if overdue is False else None,
    )
    page = listing.find(deps, tenant, "invoice", query, search, limit=limit, cursor=cursor)
    return PageOf(
        [summary(present(deps, tenant, doc), doc.get("draft_customer_name")) for doc in page.items], page.cursor
    )


def summary(invoice: Doc, draft_customer_name: str | None = None) -> Doc:
    """An invoice as lists show it: everything but its lines and long texts
    (200 invoices of 1,000 lines would not fit in a Lambda response); a
    draft's customer by the name it had when chosen (the snapshot comes
    at issue)."""
    customer = invoice.get("customer") or {}
    return {
        **{key: value for key, value in invoice.items() if key not in _DETAIL | INTERNAL},
        "line_count": len(invoice["lines"]),
        "customer_name": customer.get("name") or draft_customer_name,
    }


def update_invoice(deps: Deps, tenant: str, invoice_id: str, patch: InvoicePatch, if_match: int | None) -> Doc:
    current = load(deps, tenant, invoice_id)
    changes = sent(patch)
    expected = catalog.expected_version(changes.pop("version", None), if_match)
    if expected is None:
        raise InvalidInput.of("version", "send the version you read (in the body or as If-Match)")
    lifecycle.ensure_editable(Status(current["status"]))
    if current.get("kind") == "deposit":  # left a draft by a request that died: issued as it was made, or deleted
        raise Conflict("a deposit invoice is made from its estimate, not edited: issue it (mark-sent) or delete it")
    if expected != current["version"]:
        raise StaleVersion(current["version"])
    for required in ("name", "currency", "lines"):
        if required in changes and changes[required] is None:
            raise InvalidInput.of(required, "cannot be null")
    if "lines" in changes:
        changes["lines"] = _with_system_lines(current, changes["lines"])
    doc = _draft(
        deps,
        tenant,
        {**current, **changes, "version": current["version"] + 1, "updated_at": deps.timestamp()},
        check_customer="customer_id" in changes,
    )
    deps.store.replace(
        tenant,
        "invoice",
        doc,
        expected_version=current["version"],
        old_name=lifecycle.name_key(current["name"]),
        new_name=lifecycle.name_key(doc["name"]),
        require_draft=True,
    )
    return present(deps, tenant, doc)


def delete_invoice(deps: Deps, tenant: str, invoice_id: str, version: int | None) -> None:
    current = load(deps, tenant, invoice_id)
    lifecycle.ensure_editable(Status(current["status"]))
    deps.store.delete(
        tenant,
        "invoice",
        invoice_id,
        expected_version=version,
        name=lifecycle.name_key(current["name"]),
        require_draft=True,
    )


def duplicate_invoice(deps: Deps, tenant: str, invoice_id: str) -> Doc:
    source = load(deps, tenant, invoice_id)
    data = {key: source.get(key) for key in _COPIED}
    data["lines"] = ordinary_lines(source["lines"])
    if data.get("customer_id") and deps.store.get(tenant, "customer", data["customer_id"]) is None:
        data["customer_id"] = None  # the customer was deleted since
    for attempt in range(1, DUPLICATE_NAME_ATTEMPTS + 1):
        name = lifecycle.copy_name(source["name"], attempt)
        try:
            return create_invoice(deps, tenant, InvoiceIn.model_validate({**data, "name": name}))
        except NameTaken:
            continue
    raise NameTaken("invoice", lifecycle.copy_name(source["name"], DUPLICATE_NAME_ATTEMPTS))


def ordinary_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A document's lines as a copy of it takes them: without their nets,
    and without a final invoice's deposit deductions, which name deposit
    invoices of its estimate alone."""
    return [{k: v for k, v in line.items() if k != "net"} for line in lines if not line.get(SYSTEM_LINE)]


def _no_system_lines(lines: list[dict[str, Any]]) -> None:
    problems = _system_line_problems(lines)
    if problems:
        raise InvalidInput(problems)


def _system_line_problems(lines: list[dict[str, Any]]) -> list[FieldError]:
    return [
        FieldError(f"lines.{i}.{SYSTEM_LINE}", "set by the server on a final invoice's deposit lines only")
        for i, line in enumerate(lines)
        if line.get(SYSTEM_LINE)
    ]


def _with_system_lines(current: Doc, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A draft's new lines: a final invoice keeps its deposit deductions,
    last, as the server made them (a client sending back the lines it read
    changes none of them, and cannot add one)."""
    kept = [line for line in current["lines"] if line.get(SYSTEM_LINE)]
    if not kept:
        _no_system_lines(lines)
        return lines
    return [line for line in lines if not line.get(SYSTEM_LINE)] + kept


# -- issuing -----------------------------------------------------------------------


def finalize_invoice(
    deps: Deps, tenant: str, invoice_id: str, version: int | None, public_url: str
) -> tuple[Doc, bool]:
    """Draft → open: snapshot the business and the customer, take the next
    number. Finalizing an issued invoice changes nothing; a void one is a 409.
    Returns the invoice and whether this call issued it.
    Under contention the whole read-decide-write step is retried, never
    half-applied: a number is consumed only with the status change."""

    def attempt() -> tuple[Doc, bool]:
        current = load(deps, tenant, invoice_id)
        if version is not None and version != current["version"]:
            raise StaleVersion(current["version"])
        if not lifecycle.needs_finalization(Status(current["status"])):
            return present(deps, tenant, current), False
        _check_deductions(deps, tenant, current)
        business = deps.store.get(tenant, "business", catalog.BUSINESS_ID)
        customer = current["customer_id"] and deps.store.get(tenant, "customer", current["customer_id"])
        today = deps.today()
        issue_date = _date(current["issue_date"]) or today
        terms_days = (business or {}).get("payment_terms_days", 30)
        due_date = _date(current["due_date"]) or lifecycle.default_due_date(issue_date, terms_days)
        numbering = deps.store.invoice_sequence(tenant)
        problems = lifecycle.finalization_problems(
            has_business=business is not None,
            has_customer=bool(customer),
            line_count=len(current["lines"]),
            issue_date=issue_date,
            due_date=due_date,
            today=today,
            last_issue_date=_date(numbering.last_issue_date),
        )
        if business and customer:
            problems += lifecycle.legal_problems(business, customer, current["lines"])
        if current.get("payment_schedule"):
            plan = schedule_of(current["payment_schedule"])
            problems += schedule.draft_problems(plan.kind, plan.planned, current["currency"], issue_date, due_date)
            problems += schedule.issue_problems(plan.kind, plan.planned, Decimal(current["totals"]["total"]))
        if problems:
            raise InvalidInput(problems)
        assert business is not None
        assert customer
        sequence = numbering.last + 1
        number = lifecycle.invoice_number(business["invoice_number_prefix"], sequence)
        issued = _issued(current, business, customer, number, (issue_date, due_date), public_url, deps.timestamp())
        step = Finalization(
            invoice=issued,
            expected_version=current["version"],
            sequence=sequence,
            payment_token_hash=paylinks.token_hash(paylinks.token(deps, tenant, current["id"])),
        )
        try:
            deps.store.finalize(tenant, step)
        except ConditionFailed:
            raise LostRace from None  # another finalization took the number, or the draft changed
        return present(deps, tenant, issued), True

    return until_written(attempt, "too many invoices are being finalized at once")


def _check_deductions(deps: Deps, tenant: str, draft: Doc) -> None:
    """A final invoice is issued only while its deductions are still its
    estimate's deposit invoices (none voided or credited, none issued since,
    none waiting to be): else it would charge the client too little or too
    much (409)."""
    if draft.get("kind") != "final":
        return
    from invoicing.domain import deposits  # final invoices only: not on every cold start of the API function

    estimate = deps.store.get(tenant, "estimate", draft["estimate_id"]) or {}
    deposits_made = [deps.store.get(tenant, "invoice", entry["id"])
                     for entry in estimate.get("invoices") or [] if entry["kind"] == "deposit"]  # fmt: skip
    found = [doc for doc in deposits_made if doc is not None]
    if any(doc["status"] == Status.DRAFT for doc in found):
        raise Conflict("a deposit invoice of its estimate waits to be issued: issue it or delete it first")
    taken = [doc for doc in found if Status(doc["status"]) in lifecycle.ISSUED]
    expected = [_deduction_key(line) for line in deposits.deduction_lines(taken)]
    if [_deduction_key(line) for line in draft["lines"] if line.get(SYSTEM_LINE)] != expected:
        raise Conflict(
            f"the deposit invoices of estimate {draft.get('estimate_number')} changed since this final invoice was "
            "made: delete it and make the final invoice again"
        )


def _deduction_key(line: Doc) -> tuple[Any, ...]:
    taxes = tuple((tax["name"], Decimal(str(tax["rate"]))) for tax in line.get("taxes") or ())
    return (line[SYSTEM_LINE], Decimal(str(line["unit_price"])), taxes)


def _issued(
    draft: Doc, business: Doc, customer: Doc, number: str, dates: tuple[date, date], public_url: str, now: str
) -> Doc:
    """The draft as the numbered invoice it becomes: the seller and the client
    as they are now (snapshots), its dates, its reminders, its sweeps' days."""
    issue_date, due_date = dates
    client = {key: value for key, value in customer.items() if key not in ("version", "created_at", "updated_at")}
    return planned({
        **draft,
        "status": Status.OPEN.value,
        "number": number,
        "issue_date": issue_date.isoformat(),
        "due_date": due_date.isoformat(),
        "business": business_snapshot(business),
        "customer": client,
        "pay_base_url": public_url,
        "reminders": business.get("reminders") or Reminders().model_dump(),
        "finalized_at": now,
        "updated_at": now,
        "version": draft["version"] + 1,
        "uploads": [],  # an upload not confirmed by now never will be: the bucket lets it expire
    })  # fmt: skip


def business_snapshot(business: Doc) -> Doc:
    """The seller as a document issued now names it."""
    return {key: business.get(key) for key in _SNAPSHOT_BUSINESS}


# -- helpers -----------------------------------------------------------------------


def present(deps: Deps, tenant: str, doc: Doc) -> Doc:
    """The stored document plus what is derived at read time."""
    invoice = Invoice.of(doc)
    next_due = invoice.next_due_date() if invoice.status in lifecycle.UNPAID else None
    shown = {"kind": "standard", **{key: value for key, value in doc.items() if key not in INTERNAL}}
    shown["payment_link"] = paylinks.link(deps, tenant, doc)
    # payments recorded before they had a status all succeeded
    shown["payments"] = [{"status": "succeeded", **payment} for payment in doc.get("payments") or []]
    if doc.get("payment_schedule"):
        shown["payment_schedule"] = {**doc["payment_schedule"], "instalments": instalments_shown(doc)}
    return {
        **shown,
        "attachments": doc.get("attachments", []),
        "credit_notes": doc.get("credit_notes", []),
        "next_due_date": next_due.isoformat() if next_due else None,
        "overdue": invoice.is_overdue(deps.today()),
    }


def load(deps: Deps, tenant: str, invoice_id: str) -> Doc:
    """The invoice as stored (what a use case writes back); NotFound else."""
    doc = deps.store.get(tenant, "invoice", invoice_id)
    if doc is None:
        raise NotFound("invoice")
    return doc


def _draft(deps: Deps, tenant: str, doc: Doc, *, check_customer: bool = True) -> Doc:
    """Complete a draft: products filled in, references checked, totals
    computed. A customer deleted since it was chosen does not block editing
    the draft (only issuing it), so it is checked when it is set."""
    doc = jsonable(doc)
    doc.pop("overdue", None)
    currency = doc["currency"]
    problems: list[FieldError] = []
    products: dict[str, Doc | None] = {}
    lines = [_resolve_line(deps, tenant, i, line, currency, problems, products) for i, line in enumerate(doc["lines"])]
    if check_customer:
        problems += catalog.chosen_customer(deps, tenant, doc)
    problems += money_problems(discounts_of(lines, doc.get("discount")), currency)
    if doc.get("payment_schedule"):
        plan = schedule_of(doc["payment_schedule"])
        problems += schedule.draft_problems(
            plan.kind, plan.planned, currency, _date(doc.get("issue_date")), _date(doc.get("due_date"))
        )
    if problems:
        raise InvalidInput(problems)
    doc["discount"] = shown_discount(doc.get("discount"), currency)
    lines = [{**line, "discount": shown_discount(line.get("discount"), currency)} for line in lines]
    totals = totals_of(lines, doc.get("discount"), currency)
    doc["lines"] = [
        {**line, "net": format_amount(net, currency)} for line, net in zip(lines, totals.line_nets, strict=True)
    ]
    view = totals_view(totals)
    view.pop("line_nets")
    zero = format_amount(ZERO, currency)
    doc["totals"] = view
    doc["late_fees_total"] = doc.get("late_fees_total") or zero
    doc["amount_paid"] = doc.get("amount_paid") or zero
    doc["credited"] = doc.get("credited") or zero
    doc["payments"] = doc.get("payments") or []
    doc["amount_due"] = format_amount(Invoice.of(doc).amount_due, currency)
    return doc


def resolve_lines(
    deps: Deps, tenant: str, lines: list[dict[str, Any]], currency: str
) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Lines as a document other than an invoice stores them (an estimate's,
    a credit note's): products filled in, prices and discounts in the
    currency; with what is wrong with them. None deducts a deposit: only a
    final invoice has such lines, and the server makes them."""
    problems: list[FieldError] = _system_line_problems(lines)
    products: dict[str, Doc | None] = {}
    resolved = [_resolve_line(deps, tenant, i, line, currency, problems, products) for i, line in enumerate(lines)]
    problems += money_problems(discounts_of(resolved, None), currency)
    return [{**line, "discount": shown_discount(line.get("discount"), currency)} for line in resolved], problems


def _resolve_line(
    deps: Deps,
    tenant: str,
    index: int,
    line: dict[str, Any],
    currency: str,
    problems: list[FieldError],
    products: dict[str, Doc | None],
) -> dict[str, Any]:
    """A line naming a product takes what it leaves out from the product. A
    line that leaves nothing out (a stored one) keeps what it has, even if
    the product has since changed or gone."""
    line = {key: value for key, value in line.items() if key != "net"}
    product_id = line.get("product_id")
    incomplete = any(line.get(key) is None for key in ("name", "unit_price", "taxes"))
    if product_id and incomplete:
        if product_id not in products:
            products[product_id] = deps.store.get(tenant, "product", product_id)
        product = products[product_id]
        if product is None:
            problems.append(FieldError(f"lines.{index}.product_id", "no product with this id"))
            return line
        for key in ("name", "description", "unit", "taxes"):
            if line.get(key) is None:
                line[key] = product.get(key)
        if line.get("unit_price") is None:
            if product["currency"] != currency:
                problems.append(
                    FieldError(
                        f"lines.{index}.unit_price", f"the product is priced in {product['currency']}, not {currency}"
                    )
                )
                return line
            line["unit_price"] = product["unit_price"]
    for key in ("name", "unit_price"):
        if line.get(key) is None:
            problems.append(FieldError(f"lines.{index}.{key}", "required (or a product_id to take it from)"))
    line["taxes"] = line.get("taxes") or []
    if line.get("unit_price") is not None:
        line["unit_price"] = catalog.format_price(line["unit_price"], currency)
    return line


def shown_discount(discount: dict[str, Any] | None, currency: str) -> dict[str, Any] | None:
    """A fixed discount is an amount: it shows the currency's decimals."""
    if discount and discount["type"] == "fixed":
        return {**discount, "value": format_amount(Decimal(str(discount["value"])), currency)}
    return discount


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
