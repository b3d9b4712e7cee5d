"""The store on one DynamoDB table (single-table design).

    pk = T#{tenant}           sk = {KIND}#{id}            a document (a child's id: {parent id}.{id})
    pk = T#{tenant}           sk = NAME#{kind}#{name key}  name uniqueness guard
    pk = T#{tenant}           sk = SEQ#invoice              the numbering counter
    pk = T#{tenant}           sk = NUM#{number}             number uniqueness guard
    pk = PAY#{token hash}     sk = PAY                      hosted-page token → invoice
    pk = QUOTE#{token hash}   sk = QUOTE                    an estimate's public page token → estimate
    pk = QUOTA#{key}          sk = {period}                 a count against a limit (sending, codes)

Issued, unpaid invoices that a scheduled sweep has work for also carry the
keys of its index, across tenants: SWEEP#{sweep}#{shard} and the day the
work is due, so a sweep reads only what it has to do today (infra/wiring.py).

Invoices also carry the keys of three sparse indexes (see `infra/wiring.py`):
by status, by customer, and — while issued with an amount due — by due date.
Estimates share the first two (their partitions say EST), and while sent
carry the expiry sweep's keys. Invoices, estimates, credit notes and
payment entries are indexed by date (`by_date`, SPEC §14):

    gsi9pk = T#{tenant}#{KIND}#DATE   gsi9sk = {issue date}#{sequence, 10 digits}#{id}   issued
                                      gsi9sk = ~#{id}                                    a draft: after every date
                                      gsi9sk = {day received}#{id}                       a payment entry

so a report or an export reads the tenant's documents of its range and
nothing else. Listed documents carry their folded searchable text
(`search`, domain.search) and, invoices and estimates, their `due_date`.
Documents are stored as zlib-compressed JSON (one attribute), so a 1,000-line
invoice fits in an item; the attributes that queries filter on sit beside it.
No Scan anywhere: every read is a GetItem or a Query on the tenant's keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
import zlib
from decimal import Decimal
from typing import Any, NoReturn

from invoicing.domain.errors import (
    Busy,
    Conflict,
    InvalidInput,
    InvoiceNotEditable,
    NameTaken,
    NotFound,
    StaleVersion,
    TooLarge,
)
from invoicing.domain.lifecycle import UNPAID
from invoicing.domain.search import due_of, searchable
from invoicing.events import Change
from invoicing.ports import (
    SWEEP_SHARDS,
    SWEEPS,
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
    Record,
    Sequence,
    date_key,
    dated_cursor,
)
from invoicing.settings import settings

KINDS = {
    "invoice": "INV",
    "estimate": "EST",
    "recurring": "REC",
    "customer": "CUS",
    "product": "PRD",
    "business": "BUSINESS",
    "delivery": "DLV",  # id {invoice id}.{digest}: one per (version, channel, recipient)
    "template": "TPL",
    "credit_note": "CN",
    "sender": "SENDER",  # a tenant's sender address; under the "platform" tenant, who owns each address
    "stripe": "STRIPE",  # under the "platform" tenant: events processed, intents' invoices, early refunds, accounts
    "stripe_parked": "STRIPEPARKED",  # under the "platform" tenant: Stripe's events that could not be applied
    "standing": "STANDING",  # the tenant's standing with the platform: sending suspended, lifted
    "payment_method": "PM",  # id {customer id}.{Stripe's pm id}: a card or an IBAN the client saved (SPEC §12)
    "webhook_endpoints": "WHE",  # id "endpoints": where a tenant's webhooks go (SPEC §13), with their secrets
    "webhook_delivery": "WHD",  # id {endpoint id}.{time}{event}: one event to one endpoint, its attempts
    "payment_entry": "PAYE",  # id {invoice id}.{payment id}: a payment as reports read it (logic.ledger)
    "export": "EXP",  # a file of the tenant's documents written in the background (logic.exports)
}
MAX_ITEM_BYTES = 380_000  # DynamoDB's limit is 400 KB per item, keys included
RETRY = "the object changed while this request ran; read it again and retry"


class ItemTooLarge(TooLarge):
    def __init__(self) -> None:
        super().__init__("the document is too large to store (over 380 KB compressed); split it")


def tenant_pk(tenant: str) -> str:
    return f"T#{tenant}"


def doc_sk(kind: str, id: str) -> str:
    return f"{KINDS[kind]}#{id}"


def name_sk(kind: str, name_key: str) -> str:
    """A hash of the name: a sort key has 1,024 bytes at most, and a
    200-character name can normalize to more."""
    return f"NAME#{kind}#{hashlib.sha256(name_key.encode()).hexdigest()}"


_NAMES = {"#version": "version", "#status": "status", "#last": "last", "#response": "response", "#count": "count"}


def _condition(expression: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """A condition with the attribute names it uses (DynamoDB refuses unused ones)."""
    part: dict[str, Any] = {"ConditionExpression": expression}
    names = {alias: name for alias, name in _NAMES.items() if alias in expression}
    if names:
        part["ExpressionAttributeNames"] = names
    if values:
        part["ExpressionAttributeValues"] = values
    return part


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoStore:
    def __init__(self, client: Any = None, table_name: str | None = None) -> None:
        self._client = client
        self.table = table_name or settings().require("table")
        # What a sweep costs (make bench): every item the store read (gets, sequences, queries),
        # and of those, the candidates the sweeps' index queries returned.
        self.items_read = 0
        self.candidates_read = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    # -- reads ---------------------------------------------------------------

    def get(self, tenant: str, kind: str, id: str) -> Doc | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(tenant_pk(tenant)), "sk": _s(doc_sk(kind, id))},
            ConsistentRead=True,
        )
        item = response.get("Item")
        self.items_read += 1 if item else 0
        return _decode(item) if item else None

    def list(
        self, tenant: str, kind: str, *, limit: int, cursor: str | None, query: InvoiceQuery | None = None
    ) -> PageOf:
        plan = _plan(tenant, kind, query or InvoiceQuery())
        start_key = _start_key(plan, cursor) if cursor else None
        items: list[Doc] = []
        last_key = None
        for _ in range(20):  # bounded: a sparse filter returns a short page and a cursor
            request: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": plan["condition"],
                "ExpressionAttributeValues": plan["values"],
                "ScanIndexForward": plan["forward"],
                "Limit": limit - len(items),
            }
            if "index" in plan:
                request["IndexName"] = plan["index"]
            if "filter" in plan:
                request["FilterExpression"] = plan["filter"]
                if plan["names"]:  # DynamoDB refuses an empty map (moto takes it)
                    request["ExpressionAttributeNames"] = plan["names"]
            if start_key:
                request["ExclusiveStartKey"] = start_key
            response = self.client.query(**request)
            self.items_read += len(response.get("Items", []))
            items.extend(_decode(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key or len(items) >= limit:
                break
            start_key = last_key
        return PageOf(items, _cursor(plan, last_key) if last_key else None)

    def children(self, tenant: str, kind: str, parent_id: str) -> list[Doc]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": _s(tenant_pk(tenant)),
                ":prefix": _s(doc_sk(kind, f"{parent_id}.")),
            },
            "ConsistentRead": True,
        }
        docs: list[Doc] = []
        while True:
            response = self.client.query(**request)
            self.items_read += len(response.get("Items", []))
            docs.extend(_decode(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return docs
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def dated(self, tenant: str, kind: str, *, start: str, end: str, limit: int, cursor: str | None) -> PageOf:
        partition = f"{tenant_pk(tenant)}#{KINDS[kind]}#DATE"
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_date",
            "KeyConditionExpression": "gsi9pk = :pk AND gsi9sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {":pk": _s(partition), ":start": _s(start), ":end": _s(f"{end}$")},
            "Limit": limit,
        }
        if cursor:  # the date key of the last document of the previous page, checked to lie in the range
            key = dated_cursor_key(cursor, start, end)
            request["ExclusiveStartKey"] = {
                "pk": _s(tenant_pk(tenant)), "sk": _s(doc_sk(kind, key.rsplit("#", 1)[1])),
                "gsi9pk": _s(partition), "gsi9sk": _s(key),
            }  # fmt: skip
        response = self.client.query(**request)
        found = response.get("Items", [])
        self.items_read += len(found)
        last = response.get("LastEvaluatedKey")
        return PageOf([_decode(item) for item in found], dated_cursor(last["gsi9sk"]["S"]) if last else None)

    def mark_viewed(self, tenant: str, invoice_id: str, version: int, at: str) -> bool:
        """The first opening of this version of the invoice's hosted page
        (False: an opening came first, or the invoice changed since)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(tenant_pk(tenant)), "sk": _s(doc_sk("invoice", invoice_id))},
                UpdateExpression="SET viewed_version = :version, version_viewed_at = :at, "
                "viewed_at = if_not_exists(viewed_at, :at)",
                ConditionExpression="#version = :version AND "
                "(attribute_not_exists(viewed_version) OR viewed_version < :version)",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":version": _n(version), ":at": _s(at)},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        except self.client.exceptions.ClientError as error:  # the page is shown all the same: it is the CRM's news
            code = error.response.get("Error", {}).get("Code")
            logging.getLogger(__name__).warning("the hosted page's opening not recorded: %s", code)
            return False
        return True

    def children_page(self, tenant: str, kind: str, parent_id: str, *, limit: int, cursor: str | None) -> PageOf:
        prefix = doc_sk(kind, f"{parent_id}.")
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(tenant_pk(tenant)), ":prefix": _s(prefix)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:  # the id of the last child of the previous page, checked to be one of this parent's
            after = child_cursor_id(cursor, parent_id)
            request["ExclusiveStartKey"] = {"pk": _s(tenant_pk(tenant)), "sk": _s(doc_sk(kind, after))}
        response = self.client.query(**request)
        self.items_read += len(response.get("Items", []))
        items = [_decode(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        next_cursor = child_cursor(last["sk"]["S"].split("#", 1)[1]) if last else None
        return PageOf(items, next_cursor)

    def invoice_sequence(self, tenant: str) -> Sequence:
        return self._sequence(tenant, "invoice")

    def credit_note_sequence(self, tenant: str) -> Sequence:
        return self._sequence(tenant, "credit_note")

    def estimate_sequence(self, tenant: str) -> Sequence:
        return self._sequence(tenant, "estimate")

    def _sequence(self, tenant: str, series: str) -> Sequence:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(tenant_pk(tenant)), "sk": _s(f"SEQ#{series}")},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return Sequence()
        self.items_read += 1
        return Sequence(int(item["last"]["N"]), item.get("last_issue_date", {}).get("S"))

    # -- writes --------------------------------------------------------------

    def create(self, tenant: str, kind: str, doc: Doc, *, name: str | None) -> None:
        writes = [self._put(tenant, kind, doc, "attribute_not_exists(pk)")]
        if name is not None:
            writes.append(self._name_guard(tenant, kind, name, doc["id"]))
        try:
            self._transact(writes)
        except ConditionFailed as failed:
            if 1 in failed.failed:
                raise NameTaken(kind, doc.get("name", "")) from None
            raise

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
        condition = "#version = :expected"
        values = {":expected": _n(expected_version)}
        if require_draft:
            condition += " AND #status = :draft"
            values[":draft"] = _s("draft")
        if expected_version == 0:  # a singleton written for the first time
            condition, values = "attribute_not_exists(pk)", {}
        writes = [self._put(tenant, kind, doc, condition, values)]
        if new_name != old_name:
            if new_name is not None:
                writes.append(self._name_guard(tenant, kind, new_name, doc["id"]))
            if old_name is not None:
                writes.append(self._delete_name(tenant, kind, old_name))
        try:
            self._transact(writes)
        except ConditionFailed as failed:
            if 0 in failed.failed:
                self._explain(tenant, kind, doc["id"], expected_version, require_draft, doc.get("viewed_version"))
            if 1 in failed.failed and new_name is not None:
                raise NameTaken(kind, doc.get("name", "")) from None
            raise Conflict(RETRY) from None

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
        conditions, values = ["attribute_exists(pk)"], {}
        if expected_version is not None:
            conditions.append("#version = :expected")
            values[":expected"] = _n(expected_version)
        if require_draft:
            conditions.append("#status = :draft")
            values[":draft"] = _s("draft")
        delete: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": _s(tenant_pk(tenant)), "sk": _s(doc_sk(kind, id))},
            **_condition(" AND ".join(conditions), values),
        }
        writes = [{"Delete": delete}]
        if name is not None:
            writes.append(self._delete_name(tenant, kind, name))
        try:
            self._transact(writes)
        except ConditionFailed:
            self._explain(tenant, kind, id, expected_version, require_draft)

    def finalize(self, tenant: str, step: Finalization) -> None:
        """Number the invoice and change its status in one transaction: the
        counter moves from sequence - 1 to sequence only if the invoice is
        still the draft that was read, so numbers have no gaps and no twins."""
        invoice = step.invoice
        writes = [
            self._counter(tenant, "invoice", step.sequence, invoice["issue_date"]),
            self._put(
                tenant,
                "invoice",
                invoice,
                "#version = :expected AND #status = :draft",
                {":expected": _n(step.expected_version), ":draft": _s("draft")},
            ),
            self._number_guard(tenant, invoice["number"], invoice["id"]),
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"PAY#{step.payment_token_hash}"),
                        "sk": _s("PAY"),
                        "tenant": _s(tenant),
                        "invoice_id": _s(invoice["id"]),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._transact(writes)
        except ConditionFailed as failed:
            if failed.failed == [2]:  # only the number guard: the number exists, whatever the counter says
                raise Conflict(f"invoice number {invoice['number']} is already used; change the prefix") from None
            raise

    def issue_credit_note(self, tenant: str, step: CreditNoteIssue) -> None:
        """The credit note takes its number and the invoice records it, in
        one transaction: its own counter moves from sequence - 1 to sequence
        only if the invoice is still the version that was read."""
        note = step.credit_note
        writes = [
            self._counter(tenant, "credit_note", step.sequence, note["issue_date"]),
            self._put(tenant, "credit_note", note, "attribute_not_exists(pk)"),
            self._put(
                tenant, "invoice", step.invoice, "#version = :expected", {":expected": _n(step.expected_version)}
            ),
            self._number_guard(tenant, note["number"], note["id"]),
        ]
        try:
            self._transact(writes)
        except ConditionFailed as failed:
            if failed.failed == [3]:
                raise Conflict(f"credit note number {note['number']} is already used; change the prefix") from None
            raise

    def issue_estimate(self, tenant: str, step: EstimateIssue) -> None:
        """Number the estimate and change its status in one transaction, as
        invoices are (`finalize`), with its public page's token."""
        estimate = step.estimate
        writes = [
            self._counter(tenant, "estimate", step.sequence, estimate["issue_date"]),
            self._put(
                tenant,
                "estimate",
                estimate,
                "#version = :expected AND #status = :draft",
                {":expected": _n(step.expected_version), ":draft": _s("draft")},
            ),
            self._number_guard(tenant, estimate["number"], estimate["id"]),
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"QUOTE#{step.quote_token_hash}"),
                        "sk": _s("QUOTE"),
                        "tenant": _s(tenant),
                        "estimate_id": _s(estimate["id"]),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._transact(writes)
        except ConditionFailed as failed:
            if failed.failed == [2]:
                raise Conflict(f"number {estimate['number']} is already used; change estimate_prefix") from None
            raise

    def quote_token(self, token_hash: str) -> tuple[str, str] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"QUOTE#{token_hash}"), "sk": _s("QUOTE")}, ConsistentRead=True
        ).get("Item")
        return (item["tenant"]["S"], item["estimate_id"]["S"]) if item else None

    def sweep_candidates(self, sweep: str, shard: int, today: str, cursor: str | None, limit: int) -> Candidates:
        number = SWEEPS.index(sweep) + 4
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": f"by_{sweep}_date",
            "KeyConditionExpression": "#pk = :pk AND #sk < :after",
            "ExpressionAttributeNames": {"#pk": f"gsi{number}pk", "#sk": f"gsi{number}sk"},
            "ExpressionAttributeValues": {":pk": _s(f"SWEEP#{sweep}#{shard}"), ":after": _s(f"{today}$")},
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        response = self.client.query(**request)
        found = response.get("Items", [])
        self.items_read += len(found)
        self.candidates_read += len(found)
        candidates = [Candidate(item["pk"]["S"].removeprefix("T#"), _decode(item)) for item in found]
        last = response.get("LastEvaluatedKey")
        return Candidates(candidates, base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None)

    def payment_token(self, token_hash: str) -> tuple[str, str] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"PAY#{token_hash}"), "sk": _s("PAY")}, ConsistentRead=True
        ).get("Item")
        return (item["tenant"]["S"], item["invoice_id"]["S"]) if item else None

    # -- counters ------------------------------------------------------------

    def spend(self, allowances: list[Allowance]) -> None:
        """One conditional ADD per allowance, in one transaction: a count
        never passes its limit, even under concurrent spenders. An amount
        larger than its limit is refused before anything is written (its
        counter may not exist yet, which the condition lets through)."""
        beyond = [
            i
            for i, allowance in enumerate(allowances)
            if allowance.limit is not None and allowance.amount > allowance.limit
        ]
        if beyond:
            raise ConditionFailed(beyond)
        self._transact([self._add(allowance) for allowance in allowances])

    def counted(self, key: str, period: str) -> int:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(f"QUOTA#{key}"), "sk": _s(period)}, ConsistentRead=True
        ).get("Item")
        return int(item["count"]["N"]) if item else 0

    def _add(self, allowance: Allowance) -> dict[str, Any]:
        values = {":amount": _n(allowance.amount), ":expires": _n(allowance.expires_epoch)}
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": _s(f"QUOTA#{allowance.key}"), "sk": _s(allowance.period)},
            "UpdateExpression": "ADD #count :amount SET expires_at = :expires",  # the table's TTL
            "ExpressionAttributeNames": {"#count": "count"},
        }
        if allowance.limit is not None:
            values[":room"] = _n(allowance.limit - allowance.amount)
            update.update(_condition("attribute_not_exists(#count) OR #count <= :room"))
        return {"Update": {**update, "ExpressionAttributeValues": values}}

    # -- helpers -------------------------------------------------------------

    def _put(
        self,
        tenant: str,
        kind: str,
        doc: Doc,
        condition: str,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if kind == "invoice" and condition != "attribute_not_exists(pk)":
            # its hosted page opened since it was read (`mark_viewed`, beside the document, no new
            # version): a write of what was read would erase it; it loses its race and reads again
            if doc.get("viewed_version") is None:
                condition = f"({condition}) AND attribute_not_exists(viewed_version)"
            else:
                condition = f"({condition}) AND viewed_version = :viewed_read"
                values = {**(values or {}), ":viewed_read": _n(doc["viewed_version"])}
        # the write's own token: a condition that fails on an item carrying it is this very
        # write, landed by botocore's retry (see _transact), never another writer's same content
        item = {**_encode(tenant, kind, doc), "write_token": _s(secrets.token_hex(8))}
        return {"Put": {"TableName": self.table, "Item": item, **_condition(condition, values)}}

    def _counter(self, tenant: str, series: str, sequence: int, issue_date: str) -> dict[str, Any]:
        """The series' counter, moved from sequence - 1 to sequence (numbers
        have no gaps and no twins), with the date of the document numbered."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(tenant_pk(tenant)),
                    "sk": _s(f"SEQ#{series}"),
                    "last": _n(sequence),
                    "last_issue_date": _s(issue_date),
                },
                **(
                    _condition("attribute_not_exists(pk)")
                    if sequence == 1
                    else _condition("#last = :previous", {":previous": _n(sequence - 1)})
                ),
            }
        }

    def _number_guard(self, tenant: str, number: str, owner: str) -> dict[str, Any]:
        """A number names one document of the tenant, invoice or credit note."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": _s(tenant_pk(tenant)), "sk": _s(f"NUM#{number}"), "invoice_id": _s(owner)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _name_guard(self, tenant: str, kind: str, name: str, owner: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": _s(tenant_pk(tenant)), "sk": _s(name_sk(kind, name)), "owner": _s(owner)},
                **_condition("attribute_not_exists(pk)"),
            }
        }

    def _delete_name(self, tenant: str, kind: str, name: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self.table,
                "Key": {"pk": _s(tenant_pk(tenant)), "sk": _s(name_sk(kind, name))},
            }
        }

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        """The writes, all or none. One write alone is a plain conditional
        write: as atomic, half the capacity of a transaction (and moto
        copies the whole table for each transaction)."""
        client = self.client
        single = {"Put": client.put_item, "Delete": client.delete_item, "Update": client.update_item}
        if len(writes) == 1 and next(iter(writes[0])) in single:
            ((operation, request),) = writes[0].items()
            if operation == "Put":  # see below: a retry of a write that landed
                request = {**request, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            try:
                single[operation](**request)
            except client.exceptions.ConditionalCheckFailedException as error:
                # A transaction carries an idempotency token; a PutItem does not. When
                # botocore retried a write whose answer was lost, the item is already
                # exactly what we wrote, its write token included: that is our success.
                # (Another writer's identical content has another token: its own race.)
                if operation == "Put" and error.response.get("Item") == request["Item"]:
                    return
                raise ConditionFailed([0]) from None
            except client.exceptions.TransactionConflictException:  # a transaction holds the item
                raise ConditionFailed([0]) from None
            return
        try:
            client.transact_write_items(TransactItems=writes)
        except client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            failed = [i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"]
            if not failed and any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                failed = [i for i, reason in enumerate(reasons) if reason.get("Code") == "TransactionConflict"]
            throttled = {"ThrottlingError", "ProvisionedThroughputExceeded"}
            if not failed and any(reason.get("Code") in throttled for reason in reasons):
                # the table refused the whole transaction: nothing was written (botocore does not retry it)
                raise Busy("the table is busy; nothing was written, retry") from None
            raise ConditionFailed(failed) from None

    def _explain(
        self, tenant: str, kind: str, id: str, expected_version: int | None, require_draft: bool,
        viewed_read: int | None = None,
    ) -> NoReturn:  # fmt: skip
        """A conditional write on a document failed: say why, as the domain does
        (an invoice whose page was opened since it was read: read it again)."""
        current = self.get(tenant, kind, id)
        if current is None:
            raise NotFound(kind)
        if require_draft and current.get("status") != "draft":
            raise InvoiceNotEditable(current["status"], kind)
        if expected_version is not None and current.get("version") != expected_version:
            raise StaleVersion(current["version"])
        if kind == "invoice" and current.get("viewed_version") != viewed_read:
            raise StaleVersion(current["version"])
        raise Conflict(RETRY)


# -- encoding ------------------------------------------------------------------


def _encode(tenant: str, kind: str, doc: Doc) -> dict[str, Any]:
    viewed = {name: doc[name] for name in VIEWED if doc.get(name) is not None}
    if viewed:
        doc = {key: value for key, value in doc.items() if key not in VIEWED}
    blob = zlib.compress(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(), 6)
    if len(blob) > MAX_ITEM_BYTES:
        raise ItemTooLarge()
    pk = tenant_pk(tenant)
    item: dict[str, Any] = {
        "pk": _s(pk),
        "sk": _s(doc_sk(kind, doc["id"])),
        "version": _n(doc["version"]),
        "doc": {"B": blob},
    }
    if "viewed_version" in viewed:  # kept as `mark_viewed` wrote it
        item["viewed_version"] = _n(viewed.pop("viewed_version"))
        item.update({name: _s(value) for name, value in viewed.items()})
    if isinstance(doc.get("expires_epoch"), int):  # the table's TTL removes it after then
        item["expires_at"] = _n(doc["expires_epoch"])
    if kind in _LISTED:
        tag, status = KINDS[kind], doc["status"]
        item["status"] = _s(status)
        item["gsi1pk"], item["gsi1sk"] = _s(f"{pk}#{tag}#STATUS#{status}"), _s(doc["id"])
        if doc.get("customer_id"):
            item["customer_id"] = _s(doc["customer_id"])
            item["gsi2pk"], item["gsi2sk"] = _s(f"{pk}#{tag}#CUS#{doc['customer_id']}"), _s(doc["id"])
    if kind == "estimate" and doc["status"] == "sent" and doc.get("sweep_expiry_on"):
        number = SWEEPS.index("expiry") + 4
        item[f"gsi{number}pk"] = _s(f"SWEEP#expiry#{sweep_shard(tenant, doc['id'])}")
        item[f"gsi{number}sk"] = _s(f"{doc['sweep_expiry_on']}#{tenant}#{doc['id']}")
    if kind == "recurring" and doc["status"] == "active" and doc.get("sweep_recurring_on"):
        number = SWEEPS.index("recurring") + 4
        item[f"gsi{number}pk"] = _s(f"SWEEP#recurring#{sweep_shard(tenant, doc['id'])}")
        item[f"gsi{number}sk"] = _s(f"{doc['sweep_recurring_on']}#{tenant}#{doc['id']}")
    dated = date_key(kind, doc)
    if dated is not None:
        item["gsi9pk"], item["gsi9sk"] = _s(f"{pk}#{KINDS[kind]}#DATE"), _s(dated)
    if kind in SEARCHED:
        item["search"] = _s(searchable(doc))
        if due_of(doc):
            item["due_date"] = _s(due_of(doc))
    if kind == "invoice":
        status = doc["status"]
        if status in UNPAID and doc.get("due_date") and Decimal(doc["amount_due"]) > 0:
            # overdue from the day the next payment is due (the earliest unpaid instalment's)
            due = doc.get("next_due_date") or doc["due_date"]
            item["gsi3pk"], item["gsi3sk"] = _s(f"{pk}#INV#UNPAID"), _s(f"{due}#{doc['id']}")
            item["unpaid_due"] = _s(due)
            for sweep in ("late_fees", "reminders", "overdue"):  # an invoice's sweeps
                on = doc.get(f"sweep_{sweep}_on")
                if on:
                    shard, number = sweep_shard(tenant, doc["id"]), SWEEPS.index(sweep) + 4
                    item[f"gsi{number}pk"] = _s(f"SWEEP#{sweep}#{shard}")
                    item[f"gsi{number}sk"] = _s(f"{on}#{tenant}#{doc['id']}")
    return item


_LISTED = ("invoice", "estimate", "recurring")  # the kinds listed by status and by customer
SEARCHED = ("invoice", "estimate", "customer", "product", "template")  # the kinds a list's `q` finds (domain.search)


def sweep_shard(tenant: str, invoice_id: str) -> int:
    return zlib.crc32(f"{tenant}/{invoice_id}".encode()) % SWEEP_SHARDS


def _decode(item: dict[str, Any]) -> Doc:
    doc: Doc = json.loads(zlib.decompress(item["doc"]["B"]))
    if "viewed_version" in item:  # written beside the document (`mark_viewed`)
        doc["viewed_version"] = int(item["viewed_version"]["N"])
        doc.update({name: item[name]["S"] for name in ("viewed_at", "version_viewed_at") if name in item})
    return doc


# An invoice's hosted page opened: beside the document, never in it (no new version for it).
VIEWED = ("viewed_at", "viewed_version", "version_viewed_at")


_KIND_OF = {prefix: kind for kind, prefix in KINDS.items()}


def change_of(record: dict[str, Any]) -> Change | None:
    """The document change a record of the table's stream tells (its old
    and new images), as GetRecords returns it or Pipes hands it over (there
    binary attributes are base64 text); None for an item that is no tenant's
    document (a guard, a counter, a payment link)."""
    data = record["dynamodb"]
    pk, sk = data["Keys"]["pk"]["S"], data["Keys"]["sk"]["S"]
    kind = _KIND_OF.get(sk.split("#", 1)[0])
    if not pk.startswith("T#") or kind is None:
        return None
    return Change(pk.removeprefix("T#"), kind, _image(data.get("OldImage")), _image(data.get("NewImage")))


def _image(image: dict[str, Any] | None) -> Doc | None:
    if not image or "doc" not in image:
        return None
    blob = image["doc"]["B"]
    return _decode({**image, "doc": {"B": base64.b64decode(blob) if isinstance(blob, str) else blob}})


# -- listing plans and cursors ---------------------------------------------------------


def _plan(tenant: str, kind: str, query: InvoiceQuery) -> dict[str, Any]:
    """Which index answers a listing, its key condition and its filters."""
    pk, tag = tenant_pk(tenant), KINDS[kind]
    values: dict[str, Any] = {}
    plan: dict[str, Any]
    if query.order or query.issued_from or query.issued_to:
        plan = {
            "index": "by_date",
            "keys": ("gsi9pk", "gsi9sk"),
            "condition": "gsi9pk = :pk",
            "forward": query.order == "issue_date",
            # its cursors name their direction: one of the other direction resumes nothing of this one
            "listing": "by_date" if query.order == "issue_date" else "by_date_desc",
        }
        values[":pk"] = _s(f"{pk}#{tag}#DATE")
        if query.issued_from or query.issued_to:  # issued documents only: a draft's key is after every day
            plan["condition"] += " AND gsi9sk BETWEEN :issued_from AND :issued_to"
            values[":issued_from"] = _s(query.issued_from or "0000-00-00")
            values[":issued_to"] = _s(f"{query.issued_to or '9999-12-31'}$")
    elif query.overdue_before:
        plan = {
            "index": "by_due_date",
            "keys": ("gsi3pk", "gsi3sk"),
            "condition": "gsi3pk = :pk AND gsi3sk < :before",
            "forward": True,
        }
        values[":pk"], values[":before"] = _s(f"{pk}#INV#UNPAID"), _s(query.overdue_before)
    elif query.customer_id:
        plan = {"index": "by_customer", "keys": ("gsi2pk", "gsi2sk"), "condition": "gsi2pk = :pk", "forward": False}
        values[":pk"] = _s(f"{pk}#{tag}#CUS#{query.customer_id}")
    elif query.status:
        plan = {"index": "by_status", "keys": ("gsi1pk", "gsi1sk"), "condition": "gsi1pk = :pk", "forward": False}
        values[":pk"] = _s(f"{pk}#{tag}#STATUS#{query.status}")
    else:
        plan = {"keys": (), "condition": "pk = :pk AND begins_with(sk, :kind)", "forward": False}
        values[":pk"], values[":kind"] = _s(pk), _s(f"{KINDS[kind]}#")
    filters, names = _filters(query, plan.get("index"), values)
    if filters:
        plan["filter"] = " AND ".join(filters)
        plan["names"] = names
    plan["values"] = values
    plan["pk"] = values[":pk"]["S"]
    plan["tenant_pk"] = pk
    plan["sk_prefix"] = f"{KINDS[kind]}#"
    return plan


def _filters(query: InvoiceQuery, index: str | None, values: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """What a listing's index does not answer, filtered on the attributes
    beside each document (values added to `values`)."""
    filters: list[str] = []
    names: dict[str, str] = {}
    if query.status and index != "by_status":
        filters.append("#status = :status")
        names["#status"], values[":status"] = "status", _s(query.status)
    if query.customer_id and index != "by_customer":
        filters.append("customer_id = :customer")
        values[":customer"] = _s(query.customer_id)
    if query.overdue_before and index != "by_due_date":
        filters.append("unpaid_due < :before")
        values[":before"] = _s(query.overdue_before)
    if query.not_overdue_before:
        filters.append("(attribute_not_exists(unpaid_due) OR unpaid_due >= :today)")
        values[":today"] = _s(query.not_overdue_before)
    if query.due_from:
        filters.append("due_date >= :due_from")
        values[":due_from"] = _s(query.due_from)
    if query.due_to:
        filters.append("due_date <= :due_to")
        values[":due_to"] = _s(query.due_to)
    for i, word in enumerate(query.words):
        filters.append(f"contains(#search, :word{i})")
        names["#search"], values[f":word{i}"] = "search", _s(word)
    return filters, names


def _cursor(plan: dict[str, Any], last_key: dict[str, Any]) -> str:
    """Only the listing's name and sort keys go into a cursor: the tenant's
    partition is re-derived from the token on the next call, so a cursor
    cannot open another tenant's data, nor another listing's."""
    listing = plan.get("listing", plan.get("index", "table"))
    parts = [listing, last_key["sk"]["S"], *(last_key[name]["S"] for name in plan["keys"][1:])]
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


_DOC_SK = re.compile(r"^(?P<kind>[A-Z]+)#(?P<id>[A-Za-z0-9_-]{1,64})$")
_DUE_SK = re.compile(r"^\d{4}-\d{2}-\d{2}#(?P<id>[A-Za-z0-9_-]{1,64})$")
_DATE_SK = re.compile(r"^(~|\d{4}-\d{2}-\d{2}#\d{10})#(?P<id>[A-Za-z0-9_-]{1,64})$")
_DATED_CURSOR = re.compile(r"^\d{4}-\d{2}-\d{2}#(\d{10}#)?[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})?$")


def _start_key(plan: dict[str, Any], cursor: str) -> dict[str, Any]:
    """The key a cursor resumes after, checked to lie inside this listing's
    key condition (DynamoDB refuses one that does not)."""
    invalid = InvalidInput.of("cursor", "not a cursor this list returned")
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid from None
    if not (isinstance(parts, list) and all(isinstance(p, str) for p in parts)):
        raise invalid
    if len(parts) != 2 + len(plan["keys"][1:]) or parts[0] != plan.get("listing", plan.get("index", "table")):
        raise invalid
    doc = _DOC_SK.match(parts[1])
    if doc is None or not parts[1].startswith(plan["sk_prefix"]):
        raise invalid
    key = {"pk": _s(plan["tenant_pk"]), "sk": _s(parts[1])}
    if plan["keys"]:
        partition, sort = plan["keys"]
        due = _DUE_SK.match(parts[2])
        if plan["index"] == "by_due_date":
            if due is None or due["id"] != doc["id"] or parts[2] >= plan["values"][":before"]["S"]:
                raise invalid
        elif plan["index"] == "by_date":
            dated = _DATE_SK.match(parts[2])
            low, high = plan["values"].get(":issued_from"), plan["values"].get(":issued_to")
            if dated is None or dated["id"] != doc["id"]:
                raise invalid
            if low is not None and not low["S"] <= parts[2] <= high["S"]:
                raise invalid
        elif parts[2] != doc["id"]:
            raise invalid
        key[partition] = _s(plan["pk"])
        key[sort] = _s(parts[2])
    return key


def child_cursor(id: str) -> str:
    return base64.urlsafe_b64encode(id.encode()).decode().rstrip("=")


_CHILD_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def child_cursor_id(cursor: str, parent_id: str) -> str:
    """The child id a cursor of `children_page` resumes after: one of this
    parent's (a cursor cannot open another listing)."""
    try:
        id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        id = ""
    if not _CHILD_ID.match(id) or not id.startswith(f"{parent_id}."):
        raise InvalidInput.of("cursor", "not a cursor this list returned")
    return id


def dated_cursor_key(cursor: str, start: str, end: str) -> str:
    """The date key a cursor of `dated` resumes after, checked to lie in
    the range (a cursor cannot open another listing)."""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = ""
    if not _DATED_CURSOR.match(key) or not start <= key <= f"{end}$":
        raise InvalidInput.of("cursor", "not a cursor this list returned")
    return key


class DynamoIdempotencyStore:
    """Idempotency records in the tenant's partition: sk = IDEM#{scoped key}."""

    def __init__(self, store: DynamoStore) -> None:
        self._store = store

    def _key(self, tenant: str, key: str) -> dict[str, Any]:
        return {"pk": _s(tenant_pk(tenant)), "sk": _s(f"IDEM#{key}")}

    def claim(self, tenant: str, key: str, fingerprint: str, now: int, lease_s: int, retention_s: int) -> Record | None:
        client = self._store.client
        try:
            client.put_item(
                TableName=self._store.table,
                Item={
                    **self._key(tenant, key),
                    "fingerprint": _s(fingerprint),
                    "lease_until": _n(now + lease_s),
                    "expires_at": _n(now + retention_s),
                },
                **_condition(
                    # free, expired, or abandoned by an attempt that died mid-way
                    "attribute_not_exists(pk) OR expires_at < :now "
                    "OR (attribute_not_exists(#response) AND lease_until < :now)",
                    {":now": _n(now)},
                ),
            )
            return None
        except client.exceptions.ConditionalCheckFailedException:
            item = client.get_item(TableName=self._store.table, Key=self._key(tenant, key), ConsistentRead=True)
            held = item.get("Item")
            if held is None:  # released in between: let the caller retry later
                return Record(fingerprint, None)
            response = json.loads(zlib.decompress(held["response"]["B"])) if "response" in held else None
            return Record(held["fingerprint"]["S"], response)

    def complete(self, tenant: str, key: str, response: dict[str, Any]) -> None:
        # compressed UTF-8 like documents: a reply is about as large as the invoice it carries
        blob = zlib.compress(json.dumps(response, ensure_ascii=False).encode(), 6)
        client = self._store.client
        try:
            client.update_item(
                TableName=self._store.table,
                Key=self._key(tenant, key),
                UpdateExpression="SET #response = :response",
                # only a claimed record: one released since (its lease ran out and another
                # request let it go) is not made again without its fingerprint and expiry
                ConditionExpression="attribute_exists(fingerprint)",
                ExpressionAttributeNames={"#response": "response"},
                ExpressionAttributeValues={":response": {"B": blob}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return  # nothing to complete: a retry runs the request again, as after any failure

    def release(self, tenant: str, key: str) -> None:
        self._store.client.delete_item(TableName=self._store.table, Key=self._key(tenant, key))
