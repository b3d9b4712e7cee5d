"""Use cases of recurring invoices (SPEC §12): a schedule that issues an
invoice of the same content to a customer at each of its dates.

A recurring invoice holds a template's content (copied from `template_id`
when created, or given), a schedule (domain.recurrence) and what to do once
an invoice is issued: send it or mark it sent, and charge the customer's
default saved payment method (`auto_charge`, logic.auto_charge).

It says in `next_index` which occurrence it bills next, and, while active,
in `sweep_recurring_on` the day that one is due: the store indexes that day
across tenants, so the daily sweep reads only what is due, missed days
included. Each occurrence's invoice has an id that only the recurring
invoice and the count of invoices made so far give: a retry, a second run
or a concurrent run finds it made already, issues it (once: issuing an
issued invoice changes nothing), and the write that moves `next_index` on
is conditional on the version read. Pausing takes it out of the index;
resuming starts again at the first occurrence due from that day, so the
paused periods are never billed. `end.after` counts invoices made.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date
from typing import Any

from invoicing.domain import lifecycle, recurrence
from invoicing.domain.errors import (
    Busy,
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NameTaken,
    NotFound,
    PaymentsNotConfigured,
    StaleVersion,
)
from invoicing.domain.recurrence import Occurrence, Schedule, Status
from invoicing.logic import catalog, invoices, templates
from invoicing.logic.common import Deps, jsonable, keyed_id
from invoicing.logic.retry import LostRace, until_written
from invoicing.models.common import sent
from invoicing.models.recurring import RecurringIn, RecurringPatch
from invoicing.ports import ConditionFailed, Doc, InvoiceQuery, PageOf

logger = logging.getLogger(__name__)

KIND = "recurring"
LISTED = 24  # the latest invoices a recurring invoice lists (the rest carry its recurring_id)
NAME_ATTEMPTS = 20
INTERNAL = frozenset({"sweep_recurring_on", "next_index", "pay_base_url", "last_period_end"})
_DETAIL = frozenset({"lines", "notes", "terms", "invoices"})
_CONTENT = (*templates.CONTENT, "payment_terms_days", "payment_schedule", "lines")
_STAMPS = {"pause": "paused_at", "resume": "resumed_at", "cancel": "cancelled_at"}

# -- the schedule's CRUD ----------------------------------------------------------------


def create(deps: Deps, tenant: str, data: RecurringIn, public_url: str) -> Doc:
    fields = sent(data)
    business = catalog.get_business(deps, tenant)
    content = _content(deps, tenant, fields)
    problems = _customer_problems(deps, tenant, fields["customer_id"])
    schedule, schedule_problems = _schedule(fields["schedule"], deps.today())
    if problems or schedule_problems:
        raise InvalidInput(problems + schedule_problems)
    now = deps.timestamp()
    doc = jsonable({
        "id": deps.new_id("rec"),
        "name": fields["name"],
        "status": Status.ACTIVE.value,
        "customer_id": fields["customer_id"],
        "template_id": fields.get("template_id"),
        "currency": business.get("default_currency") or "EUR",
        **content,
        "schedule": schedule,
        "on_issue": fields.get("on_issue") or "mark_sent",
        "auto_charge": bool(fields.get("auto_charge")),
        "invoices": [],
        "invoices_made": 0,
        "next_index": 0,
        "last_failure": None,
        "pay_base_url": public_url,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    })  # fmt: skip
    doc = _planned(doc, deps.today())
    deps.store.create(tenant, KIND, doc, name=None)
    return present(doc)


def get(deps: Deps, tenant: str, recurring_id: str) -> Doc:
    """The recurring invoice, its invoices as they now stand (paid, credited)."""
    doc = present(load(deps, tenant, recurring_id))
    standing = [(entry, deps.store.get(tenant, "invoice", entry["id"])) for entry in doc["invoices"]]
    doc["invoices"] = [_entry(invoice, entry["service_period"]) if invoice else entry for entry, invoice in standing]
    return doc


def list_recurring(
    deps: Deps, tenant: str, *, limit: int, cursor: str | None, status: str | None, customer_id: str | None
) -> PageOf:
    query = InvoiceQuery(status=status, customer_id=customer_id)
    page = deps.store.list(tenant, KIND, limit=limit, cursor=cursor, query=query)
    return PageOf([summary(present(doc)) for doc in page.items], page.cursor)


def summary(doc: Doc) -> Doc:
    """As lists show it: without its lines, texts and invoices."""
    return {**{key: value for key, value in doc.items() if key not in _DETAIL}, "line_count": len(doc["lines"])}


def update(
    deps: Deps, tenant: str, recurring_id: str, patch: RecurringPatch, if_match: int | None, public_url: str
) -> Doc:
    """Change what the next invoices are made of, or when. A new schedule
    bills from its first date today or later that no invoice made billed."""
    current = load(deps, tenant, recurring_id)
    changes = sent(patch)
    expected = catalog.expected_version(changes.pop("version", None), if_match)
    if expected is None:
        raise InvalidInput.of("version", "send the version you read (in the body or as If-Match)")
    if Status(current["status"]) not in (Status.ACTIVE, Status.PAUSED):
        raise Conflict(f"a recurring invoice that is {current['status']} is not changed: create another")
    if expected != current["version"]:
        raise StaleVersion(current["version"])
    for required in ("name", "customer_id", "lines", "schedule", "currency"):
        if required in changes and changes[required] is None:
            raise InvalidInput.of(required, "cannot be null")
    problems = _customer_problems(deps, tenant, changes["customer_id"]) if "customer_id" in changes else []
    doc = {**current, **changes, "pay_base_url": public_url}
    if changes.get("template_id") and "lines" not in changes:  # the new template's content, whole
        doc = {key: value for key, value in doc.items() if key not in _CONTENT or key in changes}
    if set(changes) & {*_CONTENT, "template_id"}:
        doc |= _content(deps, tenant, doc)
    if "schedule" in changes:
        schedule, schedule_problems = _schedule(changes["schedule"], deps.today())
        problems += schedule_problems
        doc["schedule"] = schedule
    if problems:
        raise InvalidInput(problems)
    doc = jsonable({**doc, "version": current["version"] + 1, "updated_at": deps.timestamp()})
    if "schedule" in changes:
        doc = _rescheduled(doc, deps.today(), same_schedule=False)
    _replace(deps, tenant, current, _planned(doc, deps.today()))
    return present(doc)


def delete(deps: Deps, tenant: str, recurring_id: str, version: int | None) -> None:
    """The schedule goes; the invoices it made stay, issued."""
    load(deps, tenant, recurring_id)
    deps.store.delete(tenant, KIND, recurring_id, expected_version=version, name=None)


def act(deps: Deps, tenant: str, recurring_id: str, action: str, version: int | None, public_url: str) -> Doc:
    """pause, resume or cancel; doing it again changes nothing. Resuming
    bills from the first occurrence due today or later. Two at once: both
    answer the recurring invoice as the first left it."""

    def attempt() -> Doc:
        current = load(deps, tenant, recurring_id)
        status = recurrence.moved(Status(current["status"]), action)
        if status.value == current["status"]:
            return present(current)
        if version is not None and version != current["version"]:
            raise StaleVersion(current["version"])
        now = deps.timestamp()
        doc = {**current, "status": status.value, "version": current["version"] + 1, "updated_at": now,
               _STAMPS[action]: now}  # fmt: skip
        if status is Status.ACTIVE:
            doc["pay_base_url"] = public_url
            doc = _rescheduled(doc, deps.today(), same_schedule=True)
        doc = _planned(doc, deps.today())
        try:
            _replace(deps, tenant, current, doc)
        except StaleVersion:
            if version is not None:
                raise
            raise LostRace from None
        return present(doc)

    return until_written(attempt, f"recurring invoice {recurring_id} too busy to {action} now")


def present(doc: Doc) -> Doc:
    """As the API shows it: with its next dates (none unless active)."""
    shown = {key: value for key, value in doc.items() if key not in INTERNAL}
    upcoming = recurrence.upcoming(effective(doc), doc.get("next_index")) if doc["status"] == "active" else []
    shown["next_dates"] = [item.on.isoformat() for item in upcoming]
    return shown


def load(deps: Deps, tenant: str, recurring_id: str) -> Doc:
    doc = deps.store.get(tenant, KIND, recurring_id)
    if doc is None:
        raise NotFound("recurring invoice")
    return doc


# -- the sweep's work on one recurring invoice -------------------------------------------


def bill_due(deps: Deps, tenant: str, doc: Doc, today: date) -> int:
    """Issue the invoices `doc` owes as of `today`, one per occurrence due
    (several when days were missed, each dated today); how many this call
    issued. An auto-charged one is charged before the recurring invoice
    moves on: a charge that failed for want of Stripe is tried again (under
    the same idempotency key) by the next run."""
    made = 0
    latest: Doc | None = doc
    while latest is not None and latest["status"] == Status.ACTIVE.value:
        due = recurrence.due(effective(latest), latest.get("next_index"), today)
        if not due:
            if latest.get("sweep_recurring_on") != _planned(latest, today).get("sweep_recurring_on"):
                _write_plan(deps, tenant, latest, today)
            return made
        occurrence = due[0]
        try:
            invoice, issued = _issue(deps, tenant, latest, occurrence)
        except DomainError as problem:  # a profile lacks a mention, a customer was deleted: tried again tomorrow
            _record_failure(deps, tenant, latest, occurrence, today, problem)
            return made
        if latest.get("auto_charge"):
            _charge(deps, tenant, invoice)
        latest = _advance(deps, tenant, latest, occurrence, invoice, today)
        made += issued
    return made


def _issue(deps: Deps, tenant: str, doc: Doc, occurrence: Occurrence) -> tuple[Doc, bool]:
    """The occurrence's invoice, made if need be, issued (and sent, if the
    recurring invoice says so); whether this call issued it."""
    invoice_id = keyed_id("inv", tenant, doc["id"], occurrence.on.isoformat())  # one occurrence, one invoice
    existing = deps.store.get(tenant, "invoice", invoice_id)
    if existing is not None and existing["status"] == "draft" and existing["created_at"][:10] < deps.timestamp()[:10]:
        # left by an earlier day's run that could not issue it: made again, of today's content and dates
        invoices.delete_invoice(deps, tenant, invoice_id, existing["version"])
        existing = None
    if existing is None:
        _make(deps, tenant, doc, occurrence, invoice_id)
    on_issue = doc.get("on_issue") or "mark_sent"
    if isinstance(on_issue, dict):
        from invoicing.logic import delivery
        from invoicing.models.delivery import SendRequest

        if existing is not None and existing["status"] != "draft" and _sent(deps, tenant, invoice_id):
            return invoices.get_invoice(deps, tenant, invoice_id), False  # a retry: sent once already
        request = SendRequest.model_validate(on_issue["send"])
        invoice, _, issued = delivery.request_send(deps, tenant, invoice_id, request, doc["pay_base_url"])
        return invoice, issued
    return invoices.finalize_invoice(deps, tenant, invoice_id, None, doc["pay_base_url"])


def _sent(deps: Deps, tenant: str, invoice_id: str) -> bool:
    """Whether the invoice itself was queued to its client already (whatever its version since)."""
    from invoicing.logic import delivery

    return any(item.get("kind") in (None, "invoice") for item in delivery.deliveries_of(deps, tenant, invoice_id))


def _charge(deps: Deps, tenant: str, invoice: Doc) -> None:
    """Charge the customer's default saved method (logic.auto_charge), where Stripe is configured."""
    if deps.gateway is None:
        return
    from invoicing.logic import auto_charge

    try:
        gateway = deps.gateway()
    except PaymentsNotConfigured:
        logger.warning("not charged: payments are not configured", extra={"invoice_id": invoice["id"]})
        return
    try:
        outcome = auto_charge.collect(deps, gateway, tenant, invoice)
    except Busy:  # another run is charging it (concurrent sweeps): that one records what Stripe says
        logger.info("another run charges the invoice", extra={"invoice_id": invoice["id"]})
        return
    logger.info("recurring invoice charged", extra={"invoice_id": invoice["id"], "outcome": outcome["status"],
                                                    "reason": outcome.get("reason")})  # fmt: skip


def _make(deps: Deps, tenant: str, doc: Doc, occurrence: Occurrence, invoice_id: str) -> None:
    """The occurrence's draft, under its id (a concurrent run's is the same one)."""
    fields = templates.invoice_fields(doc, deps.today())
    fields["customer_id"] = doc["customer_id"]
    period = {"start": occurrence.start.isoformat(), "end": occurrence.end.isoformat()}
    made_from = {"recurring_id": doc["id"], "service_period": period}
    base = f"{doc['name']} — {occurrence.start.strftime('%d/%m/%Y')}"
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = base if attempt == 1 else lifecycle.numbered_name(base, attempt)
        try:
            invoices.create_made(deps, tenant, invoice_id, {**fields, "name": name}, made_from)
            return
        except NameTaken:
            continue
        except ConditionFailed:
            return  # a concurrent run made it
    raise NameTaken("invoice", lifecycle.numbered_name(base, NAME_ATTEMPTS))


def _advance(deps: Deps, tenant: str, doc: Doc, occurrence: Occurrence, invoice: Doc, today: date) -> Doc | None:
    """The recurring invoice moved on past `occurrence`, its invoice listed;
    the recurring invoice as it now stands (another run may have moved it)."""
    if doc.get("next_index", 0) > occurrence.number:
        return doc
    listed = [item for item in doc["invoices"] if item["id"] != invoice["id"]]
    moved = {
        **doc,
        "next_index": occurrence.number + 1,
        "invoices_made": doc.get("invoices_made", 0) + 1,
        "invoices": [
            *listed,
            _entry(invoice, {"start": occurrence.start.isoformat(), "end": occurrence.end.isoformat()}),
        ][-LISTED:],  # fmt: skip
        "last_period_end": occurrence.end.isoformat(),
        "last_failure": None,
        "version": doc["version"] + 1,
        "updated_at": deps.timestamp(),
    }
    moved = _planned(moved, today)
    try:
        deps.store.replace(tenant, KIND, moved, expected_version=doc["version"], old_name=None, new_name=None)
    except (StaleVersion, NotFound):  # deleted meanwhile: the read says so, and the work stops
        return deps.store.get(tenant, KIND, doc["id"])  # moved on by another run, or paused, or changed: read again
    return moved


def _record_failure(
    deps: Deps, tenant: str, doc: Doc, occurrence: Occurrence, today: date, problem: DomainError
) -> None:
    """Why the occurrence could not be issued, shown on the recurring invoice
    (the sweep tries it again each day until it can)."""
    fields = [{"field": error.field, "message": error.message} for error in getattr(problem, "errors", [])]
    failure = {"on": today.isoformat(), "occurrence": occurrence.on.isoformat(), "message": str(problem)[:500],
               "fields": fields}  # fmt: skip
    about = {"recurring_id": doc["id"], "occurrence": failure["occurrence"], "reason": failure["message"]}
    logger.warning("a recurring invoice could not be issued", extra=about)
    if doc.get("last_failure") == failure:
        return
    updated = {**doc, "last_failure": failure, "version": doc["version"] + 1, "updated_at": deps.timestamp()}
    with contextlib.suppress(StaleVersion, NotFound):  # changed or gone meanwhile: tomorrow's run says it again
        deps.store.replace(tenant, KIND, updated, expected_version=doc["version"], old_name=None, new_name=None)


def _write_plan(deps: Deps, tenant: str, doc: Doc, today: date) -> None:
    """Its index day set right (it was due, and nothing is: the schedule ended)."""

    def attempt() -> None:
        current = deps.store.get(tenant, KIND, doc["id"])
        if current is None:
            return
        planned = _planned({**current, "version": current["version"] + 1, "updated_at": deps.timestamp()}, today)
        if planned.get("sweep_recurring_on") == current.get("sweep_recurring_on"):
            return
        try:
            deps.store.replace(tenant, KIND, planned, expected_version=current["version"], old_name=None,
                               new_name=None)  # fmt: skip
        except StaleVersion:
            raise LostRace from None

    until_written(attempt, f"recurring invoice {doc['id']} too busy; the sweep retries it")


# -- helpers ------------------------------------------------------------------------------


def effective(doc: Doc) -> Schedule:
    """The schedule, its `after` counted in invoices made: occurrences
    skipped while paused do not count."""
    schedule = Schedule.of(doc["schedule"])
    if schedule.after is None:
        return schedule
    left = schedule.after - doc.get("invoices_made", 0)
    return schedule._replace(after=(doc.get("next_index") or 0) + max(left, 0))


def _planned(doc: Doc, today: date) -> Doc:
    """`doc` with the day the sweep next has work for it, or completed."""
    if doc["status"] != Status.ACTIVE.value:
        return {**doc, "sweep_recurring_on": None}
    upcoming = recurrence.upcoming(effective(doc), doc.get("next_index"), 1)
    if not upcoming:
        return {**doc, "status": Status.COMPLETED.value, "sweep_recurring_on": None,
                "completed_at": doc.get("completed_at") or doc["updated_at"]}  # fmt: skip
    return {**doc, "sweep_recurring_on": upcoming[0].on.isoformat()}


def _rescheduled(doc: Doc, today: date, *, same_schedule: bool) -> Doc:
    """The next occurrence: the first due today or later that bills no day
    already billed (on the same schedule, none before the one it was at)."""
    schedule = Schedule.of(doc["schedule"])._replace(after=None)  # `after` counts from the index found
    billed_until = date.fromisoformat(doc["last_period_end"]) if doc.get("last_period_end") else None
    first = (doc.get("next_index") or 0) if same_schedule else 0
    found = next(
        (item for item in recurrence.occurrences(schedule)
         if item.number >= first and item.on >= today and (billed_until is None or item.on > billed_until)),
        None,
    )  # fmt: skip
    return {**doc, "next_index": found.number if found else None}


def _schedule(fields: dict[str, Any], today: date) -> tuple[Doc, list[FieldError]]:
    """The schedule as stored (its day filled in), and what is wrong with it."""
    start = date.fromisoformat(str(fields["start_date"]))
    frequency = recurrence.Frequency(fields["frequency"])
    day = fields.get("day") if fields.get("day") is not None else recurrence.default_day(frequency, start)
    stored = {**fields, "day": day, "interval": fields.get("interval") or 1}
    problems = []
    if start < today:
        problems.append(FieldError("schedule.start_date", "today or later (an invoice is never issued in the past)"))
    try:
        schedule = Schedule.of(jsonable(stored))
    except ValueError:
        return stored, [FieldError("schedule.day", 'a day of the month, "last", or a weekday')]
    problems += [FieldError(f"schedule.{field}", message) for field, message in recurrence.problems(schedule)]
    return stored, problems


def _content(deps: Deps, tenant: str, fields: Doc) -> Doc:
    """The content of its invoices: the template's when it names one
    (copied: a later change of the template does not change them), else its own."""
    if fields.get("template_id") and not fields.get("lines"):
        template = deps.store.get(tenant, "template", fields["template_id"])
        if template is None:
            raise InvalidInput.of("template_id", "no template with this id")
        content = {key: template.get(key) for key in _CONTENT if template.get(key) is not None}
    else:
        content = {key: fields.get(key) for key in _CONTENT if fields.get(key) is not None}
    if not content.get("lines"):
        raise InvalidInput.of("lines", "an invoice has at least one line (or name a template_id)")
    content.setdefault("currency", fields.get("currency"))
    _, problems = invoices.resolve_lines(deps, tenant, content["lines"], content.get("currency") or "EUR")
    if problems:
        raise InvalidInput(problems)
    return {key: value for key, value in content.items() if value is not None}


def _customer_problems(deps: Deps, tenant: str, customer_id: str) -> list[FieldError]:
    if deps.store.get(tenant, "customer", customer_id) is None:
        return [FieldError("customer_id", "no customer with this id")]
    return []


def _entry(invoice: Doc, period: Doc) -> Doc:
    """An invoice as its recurring invoice lists it."""
    return {"id": invoice["id"], "number": invoice.get("number"), "issue_date": invoice.get("issue_date"),
            "service_period": period, "total": invoice["totals"]["total"], "status": invoice["status"],
            "amount_due": invoice.get("amount_due")}  # fmt: skip


def _replace(deps: Deps, tenant: str, current: Doc, doc: Doc) -> None:
    deps.store.replace(tenant, KIND, doc, expected_version=current["version"], old_name=None, new_name=None)
