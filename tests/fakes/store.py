"""An in-memory `Store`: the same contract as the DynamoDB adapter — the same
conditions, the same errors, the same orders — so use cases can be tested
in microseconds. `tests/integration/test_store_contract.py` runs one set of
scenarios against both, so the fake cannot drift from the real thing."""

from __future__ import annotations

import base64
import copy
import json
import threading
import zlib
from decimal import Decimal
from typing import Any

from invoicing.adapters.dynamodb import MAX_ITEM_BYTES, ItemTooLarge
from invoicing.domain.errors import Conflict, InvalidInput, InvoiceNotEditable, NameTaken, NotFound, StaleVersion
from invoicing.domain.lifecycle import UNPAID
from invoicing.events import Change
from invoicing.ports import (
    Allowance,
    Candidate,
    Candidates,
    ConditionFailed,
    CreditNoteIssue,
    Doc,
    EstimateIssue,
    Finalization,
    InvoiceQuery,
    PageOf,
    Sequence,
)


class InMemoryStore:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str, str], Doc] = {}
        self.names: dict[tuple[str, str, str], str] = {}
        self.sequences: dict[str, Sequence] = {}
        self.numbers: set[tuple[str, str]] = set()
        self.payment_tokens: dict[str, tuple[str, str]] = {}
        self.quote_tokens: dict[str, tuple[str, str]] = {}
        self.changes: list[Change] = []  # the stream: every document write, old and new
        self.counts: dict[tuple[str, str], int] = {}
        self._counting = threading.Lock()

    # -- reads ---------------------------------------------------------------

    def get(self, tenant: str, kind: str, id: str) -> Doc | None:
        doc = self.docs.get((tenant, kind, id))
        return copy.deepcopy(doc) if doc is not None else None

    def list(
        self, tenant: str, kind: str, *, limit: int, cursor: str | None, query: InvoiceQuery | None = None
    ) -> PageOf:
        query = query or InvoiceQuery()
        listing, rows = self._listing(tenant, kind, query)
        if cursor:
            after = _decode(cursor, kind, listing)
            dated = _issued_range(query)
            if dated and not dated[0] <= after[0] <= dated[1]:  # the adapter's key condition refuses it
                raise InvalidInput.of("cursor", "not a cursor this list returned")
            rows = [row for row in rows if _after(row[0], after, listing)]
        page = rows[:limit]
        next_cursor = _encode(kind, listing, page[-1][0]) if len(rows) > limit else None
        return PageOf([copy.deepcopy(doc) for _, doc in page], next_cursor)

    def children(self, tenant: str, kind: str, parent_id: str) -> list[Doc]:
        found = [
            doc for (t, k, id), doc in self.docs.items() if (t, k) == (tenant, kind) and id.startswith(f"{parent_id}.")
        ]
        return [copy.deepcopy(doc) for doc in sorted(found, key=lambda doc: doc["id"])]

    def dated(self, tenant: str, kind: str, *, start: str, end: str, limit: int, cursor: str | None) -> PageOf:
        from invoicing.adapters.dynamodb import dated_cursor_key
        from invoicing.ports import date_key, dated_cursor

        keyed = [(date_key(kind, doc), doc) for (t, k, _), doc in self.docs.items() if (t, k) == (tenant, kind)]
        rows = sorted((key, doc) for key, doc in keyed if key is not None and start <= key <= f"{end}$")
        if cursor:
            after = dated_cursor_key(cursor, start, end)
            rows = [row for row in rows if row[0] > after]
        page = rows[:limit]
        return PageOf([copy.deepcopy(doc) for _, doc in page], dated_cursor(page[-1][0]) if len(rows) > limit else None)

    def mark_viewed(self, tenant: str, invoice_id: str, version: int, at: str) -> bool:
        doc = self.docs.get((tenant, "invoice", invoice_id))
        if doc is None or doc["version"] != version or (doc.get("viewed_version") or 0) >= version:
            return False
        viewed = {"viewed_version": version, "version_viewed_at": at, "viewed_at": doc.get("viewed_at") or at}
        self._write(tenant, "invoice", invoice_id, {**doc, **viewed})
        return True

    def children_page(self, tenant: str, kind: str, parent_id: str, *, limit: int, cursor: str | None) -> PageOf:
        from invoicing.adapters.dynamodb import child_cursor, child_cursor_id

        found = list(reversed(self.children(tenant, kind, parent_id)))
        if cursor:
            after = child_cursor_id(cursor, parent_id)
            found = [doc for doc in found if doc["id"] < after]
        page = found[:limit]
        return PageOf(page, child_cursor(page[-1]["id"]) if len(found) > limit else None)

    def invoice_sequence(self, tenant: str) -> Sequence:
        return self.sequences.get(tenant, Sequence())

    def credit_note_sequence(self, tenant: str) -> Sequence:
        return self.sequences.get(f"{tenant}#credit_note", Sequence())

    def estimate_sequence(self, tenant: str) -> Sequence:
        return self.sequences.get(f"{tenant}#estimate", Sequence())

    # -- writes --------------------------------------------------------------

    def create(self, tenant: str, kind: str, doc: Doc, *, name: str | None) -> None:
        stored = _stored(doc)
        if (tenant, kind, doc["id"]) in self.docs:
            raise ConditionFailed([0])
        if name is not None and (tenant, kind, name) in self.names:
            raise NameTaken(kind, doc.get("name", ""))
        self._write(tenant, kind, doc["id"], stored)
        if name is not None:
            self.names[(tenant, kind, name)] = doc["id"]

    def replace(
        self,
        tenant: str,
        kind: str,
        doc: Doc,
        *,
        expected_version: int,
        old_name: str | None,
        new_name: str | None,
        require_draft: bool = False,
    ) -> None:
        stored = _stored(doc)
        current = self.docs.get((tenant, kind, doc["id"]))
        if expected_version == 0:
            if current is not None:
                raise StaleVersion(current["version"])
        else:
            self._check(current, kind, expected_version, require_draft)
            if kind == "invoice" and current is not None and current.get("viewed_version") != doc.get("viewed_version"):
                raise StaleVersion(current["version"])  # its page opened since it was read (the adapter's condition)
        if new_name != old_name and new_name is not None and (tenant, kind, new_name) in self.names:
            raise NameTaken(kind, doc.get("name", ""))
        if new_name != old_name:
            if old_name is not None:
                self.names.pop((tenant, kind, old_name), None)
            if new_name is not None:
                self.names[(tenant, kind, new_name)] = doc["id"]
        self._write(tenant, kind, doc["id"], stored)

    def delete(
        self,
        tenant: str,
        kind: str,
        id: str,
        *,
        expected_version: int | None,
        name: str | None,
        require_draft: bool = False,
    ) -> None:
        self._check(self.docs.get((tenant, kind, id)), kind, expected_version, require_draft)
        self._write(tenant, kind, id, None)
        if name is not None:
            self.names.pop((tenant, kind, name), None)

    def finalize(self, tenant: str, step: Finalization) -> None:
        invoice = _stored(step.invoice)
        current = self.docs.get((tenant, "invoice", invoice["id"]))
        counter_ok = self.invoice_sequence(tenant).last == step.sequence - 1
        invoice_ok = current is not None and (current["version"], current["status"]) == (step.expected_version, "draft")
        number_free = (tenant, invoice["number"]) not in self.numbers
        if counter_ok and invoice_ok and not number_free:
            raise Conflict(f"invoice number {invoice['number']} is already used; change the prefix")
        if not (counter_ok and invoice_ok and number_free):
            raise ConditionFailed([i for i, ok in enumerate((counter_ok, invoice_ok, number_free)) if not ok])
        self.sequences[tenant] = Sequence(step.sequence, invoice["issue_date"])
        self.numbers.add((tenant, invoice["number"]))
        self.payment_tokens[step.payment_token_hash] = (tenant, invoice["id"])
        self._write(tenant, "invoice", invoice["id"], invoice)

    def issue_credit_note(self, tenant: str, step: CreditNoteIssue) -> None:
        note, invoice = _stored(step.credit_note), _stored(step.invoice)
        current = self.docs.get((tenant, "invoice", invoice["id"]))
        checks = (
            self.credit_note_sequence(tenant).last == step.sequence - 1,
            (tenant, "credit_note", note["id"]) not in self.docs,
            current is not None
            and current["version"] == step.expected_version
            and current.get("viewed_version") == invoice.get("viewed_version"),
            (tenant, note["number"]) not in self.numbers,
        )
        if checks[:3] == (True, True, True) and not checks[3]:
            raise Conflict(f"credit note number {note['number']} is already used; change the prefix")
        if not all(checks):
            raise ConditionFailed([i for i, ok in enumerate(checks) if not ok])
        self.sequences[f"{tenant}#credit_note"] = Sequence(step.sequence, note["issue_date"])
        self.numbers.add((tenant, note["number"]))
        self._write(tenant, "credit_note", note["id"], note)
        self._write(tenant, "invoice", invoice["id"], invoice)

    def issue_estimate(self, tenant: str, step: EstimateIssue) -> None:
        estimate = _stored(step.estimate)
        current = self.docs.get((tenant, "estimate", estimate["id"]))
        counter_ok = self.estimate_sequence(tenant).last == step.sequence - 1
        draft_ok = current is not None and (current["version"], current["status"]) == (step.expected_version, "draft")
        number_free = (tenant, estimate["number"]) not in self.numbers
        if counter_ok and draft_ok and not number_free:
            raise Conflict(f"number {estimate['number']} is already used; change estimate_prefix")
        if not (counter_ok and draft_ok and number_free):
            raise ConditionFailed([i for i, ok in enumerate((counter_ok, draft_ok, number_free)) if not ok])
        self.sequences[f"{tenant}#estimate"] = Sequence(step.sequence, estimate["issue_date"])
        self.numbers.add((tenant, estimate["number"]))
        self.quote_tokens[step.quote_token_hash] = (tenant, estimate["id"])
        self._write(tenant, "estimate", estimate["id"], estimate)

    def quote_token(self, token_hash: str) -> tuple[str, str] | None:
        return self.quote_tokens.get(token_hash)

    def _write(self, tenant: str, kind: str, id: str, doc: Doc | None) -> None:
        """A document written (None: deleted), and the change kept as the
        table's stream would tell it (`take_changes`). A kind the adapter
        has no key for is refused, as the adapter refuses it."""
        from invoicing.adapters.dynamodb import KINDS

        if kind not in KINDS:
            raise KeyError(kind)
        old = self.docs.get((tenant, kind, id))
        if doc is None:
            del self.docs[(tenant, kind, id)]
        else:
            self.docs[(tenant, kind, id)] = doc
        self.changes.append(Change(tenant, kind, copy.deepcopy(old), copy.deepcopy(doc)))

    def spend(self, allowances: list[Allowance]) -> None:
        with self._counting:  # one spender at a time, as the table's transaction is
            self._spend(allowances)

    def _spend(self, allowances: list[Allowance]) -> None:
        over = [
            i
            for i, allowance in enumerate(allowances)
            if allowance.limit is not None
            and self.counts.get((allowance.key, allowance.period), 0) + allowance.amount > allowance.limit
        ]
        if over:
            raise ConditionFailed(over)
        for allowance in allowances:
            counter = (allowance.key, allowance.period)
            self.counts[counter] = self.counts.get(counter, 0) + allowance.amount

    def counted(self, key: str, period: str) -> int:
        return self.counts.get((key, period), 0)

    def take_changes(self) -> list[Change]:
        """The changes since the last take, in commit order, taken off."""
        taken, self.changes[:] = list(self.changes), []
        return taken

    def payment_token(self, token_hash: str) -> tuple[str, str] | None:
        return self.payment_tokens.get(token_hash)

    def sweep_candidates(self, sweep: str, shard: int, today: str, cursor: str | None, limit: int) -> Candidates:
        from invoicing.adapters.dynamodb import sweep_shard

        found = [
            (doc[f"sweep_{sweep}_on"], tenant, doc)
            for (tenant, kind, _), doc in self.docs.items()
            if _swept(kind, doc, sweep)
            and (doc.get(f"sweep_{sweep}_on") or "9999") <= today
            and sweep_shard(tenant, doc["id"]) == shard
        ]
        found.sort(key=lambda entry: (entry[0], entry[1], entry[2]["id"]))
        after = tuple(json.loads(cursor)) if cursor else ("", "", "")  # a position, as DynamoDB's: not an offset
        page = [entry for entry in found if (entry[0], entry[1], entry[2]["id"]) > after][:limit]
        more = len(page) == limit and (page[-1][0], page[-1][1], page[-1][2]["id"]) < (
            found[-1][0], found[-1][1], found[-1][2]["id"])  # fmt: skip
        last = json.dumps([page[-1][0], page[-1][1], page[-1][2]["id"]]) if more else None
        # copies, as the adapter decodes each item anew: a use case never edits what the fake holds
        return Candidates([Candidate(tenant, copy.deepcopy(doc)) for _, tenant, doc in page], last)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _check(current: Doc | None, kind: str, expected_version: int | None, require_draft: bool) -> None:
        if current is None:
            raise NotFound(kind)
        if require_draft and current["status"] != "draft":
            raise InvoiceNotEditable(current["status"], kind)
        if expected_version is not None and current["version"] != expected_version:
            raise StaleVersion(current["version"])

    def _listing(self, tenant: str, kind: str, query: InvoiceQuery) -> tuple[str, list[tuple[Any, Doc]]]:
        from invoicing.ports import date_key

        docs = [doc for (t, k, _), doc in self.docs.items() if (t, k) == (tenant, kind)]
        if query.order or query.issued_from or query.issued_to:
            listing = "by_date" if query.order == "issue_date" else "by_date_desc"
            rows = sorted((((date_key(kind, d) or ""), d["id"]), d) for d in docs)
            dated = _issued_range(query)
            if dated:
                rows = [row for row in rows if dated[0] <= row[0][0] <= dated[1]]
            if listing == "by_date_desc":
                rows.reverse()
        elif query.overdue_before:
            listing = "by_due_date"
            rows = [((_due(d), d["id"]), d) for d in docs if _unpaid_due(d) and _due(d) < query.overdue_before]
            rows.sort(key=lambda row: row[0])
        else:
            listing = "by_customer" if query.customer_id else "by_status" if query.status else "table"
            rows = sorted(((d["id"],), d) for d in docs)[::-1]
        return listing, [row for row in rows if _passes(row[1], query, listing)]


def _issued_range(query: InvoiceQuery) -> tuple[str, str] | None:
    """The by_date keys of the query's issue dates, as the adapter's key condition bounds them."""
    if not (query.issued_from or query.issued_to):
        return None
    return query.issued_from or "0000-00-00", f"{query.issued_to or '9999-12-31'}$"


def _passes(doc: Doc, query: InvoiceQuery, listing: str) -> bool:
    """The adapter's filters: what its index does not answer."""
    from invoicing.domain.search import due_of, matches

    due = due_of(doc)
    return (
        (not query.status or doc["status"] == query.status)
        and (not query.customer_id or doc.get("customer_id") == query.customer_id)
        and (not query.overdue_before or (_unpaid_due(doc) and _due(doc) < query.overdue_before))
        and (not query.not_overdue_before or not (_unpaid_due(doc) and _due(doc) < query.not_overdue_before))
        and (not query.due_from or (due is not None and due >= query.due_from))
        and (not query.due_to or (due is not None and due <= query.due_to))
        and matches(doc, query.words)
    )


def _stored(doc: Doc) -> Doc:
    """What the adapter would store: JSON only, compressed within an item."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if len(zlib.compress(text.encode(), 6)) > MAX_ITEM_BYTES:
        raise ItemTooLarge()
    stored: Doc = json.loads(text)
    return stored


def _swept(kind: str, doc: Doc, sweep: str) -> bool:
    """Whether the adapter gives the document the sweep's index keys."""
    if sweep == "expiry":
        return kind == "estimate" and doc["status"] == "sent"
    if sweep == "recurring":
        return kind == "recurring" and doc["status"] == "active"
    return kind == "invoice" and doc["status"] in UNPAID and Decimal(doc["amount_due"]) > 0


def _due(doc: Doc) -> str:
    """The day the next payment is due, as the adapter's index keys it."""
    return str(doc.get("next_due_date") or doc["due_date"])


def _unpaid_due(doc: Doc) -> bool:
    return doc["status"] in UNPAID and bool(doc.get("due_date")) and Decimal(doc["amount_due"]) > 0


def _after(key: tuple[str, ...], cursor: tuple[str, ...], listing: str) -> bool:
    return key > cursor if listing in ("by_due_date", "by_date") else key < cursor


def _encode(kind: str, listing: str, key: tuple[str, ...]) -> str:
    """A cursor names its listing and kind: another list's is refused, as the adapter's is."""
    return base64.urlsafe_b64encode(json.dumps([f"{kind}:{listing}", *key]).encode()).decode()


def _decode(cursor: str, kind: str, listing: str) -> tuple[str, ...]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):
        raise InvalidInput.of("cursor", "not a cursor this list returned") from None
    width = 2 if listing.startswith(("by_due_date", "by_date")) else 1
    if not (isinstance(parts, list) and len(parts) == 1 + width and all(isinstance(p, str) for p in parts)):
        raise InvalidInput.of("cursor", "not a cursor this list returned")
    if parts[0] != f"{kind}:{listing}":
        raise InvalidInput.of("cursor", "not a cursor this list returned")
    return tuple(parts[1:])
