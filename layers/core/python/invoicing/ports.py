"""The store port: what the use cases need from persistence, nothing more.

Documents are plain JSON-able dicts. Every write is conditional: on the
version it read (optimistic locking), on a name not being taken, on an
invoice still being a draft. The DynamoDB adapter is `adapters.dynamodb`.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, Protocol

Doc = dict[str, Any]


class ConditionFailed(Exception):
    """A conditional write lost a race; `failed` lists the indexes of the
    transaction's items whose condition failed."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"conditions failed on items {failed}")
        self.failed = failed


class InvoiceQuery(NamedTuple):
    """Filters of a list of invoices (or of estimates: status and customer)."""

    status: str | None = None
    customer_id: str | None = None
    overdue_before: str | None = None  # ISO date: issued, unpaid and due before it
    not_overdue_before: str | None = None  # ISO date: everything but the above
    words: tuple[str, ...] = ()  # folded (domain.search): each a part of the document's searchable text
    issued_from: str | None = None  # ISO dates, both included: issued documents only
    issued_to: str | None = None
    due_from: str | None = None  # ISO dates, both included, on the document's due date
    due_to: str | None = None
    # "issue_date" / "-issue_date": by issue date then number (drafts after the issued, or first
    # when descending); None: newest created first (the index asked for chooses its own order).
    order: str | None = None


class PageOf(NamedTuple):
    items: list[Doc]
    cursor: str | None


class Candidate(NamedTuple):
    """A document a sweep has work for (an invoice; a sent estimate for the
    expiry sweep), as the index holds it."""

    tenant: str
    invoice: Doc  # the document, whichever its kind


class Candidates(NamedTuple):
    items: list[Candidate]
    cursor: str | None  # where the next page starts; None at the end


SWEEP_SHARDS = 8  # the index's partitions per sweep: candidates spread over them by tenant and id
# The fields sweep_{name}_on say when each sweep has work: invoices' late fees and
# reminders, sent estimates' expiry (SPEC §11), recurring invoices' next occurrence
# (SPEC §12), invoices' first day overdue (SPEC §13's invoice.overdue).
SWEEPS = ("late_fees", "reminders", "expiry", "recurring", "overdue")


_DATED = ("invoice", "estimate", "credit_note")  # the documents indexed by issue date
_TRAILING_DIGITS = re.compile(r"(\d{1,10})$")


def date_key(kind: str, doc: Doc) -> str | None:
    """Where a document sits in `Store.dated` (None: nowhere): issued, by
    day and then number (a number's sequence: its trailing digits); a
    draft after every day; a payment entry by its day."""
    if kind == "payment_entry":  # a payment on the day received, a refund or a cancellation on its own
        return f"{doc.get('date') or doc['paid_at']}#{doc['id']}"
    if kind not in _DATED:
        return None
    number = doc.get("number")
    if doc.get("status") == "draft" or not number or not doc.get("issue_date"):
        return f"~#{doc['id']}"
    digits = _TRAILING_DIGITS.search(number)
    return f"{doc['issue_date']}#{int(digits[1]) if digits else 0:010d}#{doc['id']}"


def dated_cursor(key: str) -> str:
    """The cursor of `Store.dated` that resumes after the document with this date key."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


class Sequence(NamedTuple):
    """Where a tenant's numbering stands: the last number's sequence and the
    issue date of that invoice (numbers must follow dates)."""

    last: int = 0
    last_issue_date: str | None = None


@dataclass(frozen=True)
class Finalization:
    """The atomic step that turns a draft into a numbered invoice."""

    invoice: Doc  # the new document (status open, number set, version + 1)
    expected_version: int
    sequence: int  # the number's sequence; the counter must be at sequence - 1
    payment_token_hash: str
    extra_keys: dict[str, str] = field(default_factory=dict)


class CreditNoteIssue(NamedTuple):
    """The atomic step that issues a credit note against an invoice."""

    credit_note: Doc  # numbered
    invoice: Doc  # the invoice that records it (credited, credit_notes, version + 1)
    expected_version: int  # the invoice's version that was read
    sequence: int  # the credit notes' counter must be at sequence - 1


class EstimateIssue(NamedTuple):
    """The atomic step that numbers a draft estimate (sends it)."""

    estimate: Doc  # the new document (status sent, number set, version + 1)
    expected_version: int
    sequence: int  # the estimates' counter must be at sequence - 1
    quote_token_hash: str  # its public page's token, hashed (logic.quotes)


class Record(NamedTuple):
    """An idempotency record: the request's fingerprint, and its response
    once complete (None while in progress)."""

    fingerprint: str
    response: dict[str, Any] | None


class Allowance(NamedTuple):
    """So much counted against a limit over a period (a day of sending, say):
    `count` counters are kept per (key, period) and removed by the table's
    TTL after `expires_epoch`."""

    key: str  # what is counted, e.g. "tenant:acme:email"
    period: str  # e.g. "2026-12-03"
    amount: int
    limit: int | None  # None: counted, never refused
    expires_epoch: int


class Store(Protocol):
    def get(self, tenant: str, kind: str, id: str) -> Doc | None: ...

    def create(self, tenant: str, kind: str, doc: Doc, *, name: str | None) -> None: ...

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
    ) -> None: ...

    def delete(
        self,
        tenant: str,
        kind: str,
        id: str,
        *,
        expected_version: int | None,
        name: str | None,
        require_draft: bool = False,
    ) -> None: ...

    def list(
        self, tenant: str, kind: str, *, limit: int, cursor: str | None, query: InvoiceQuery | None = None
    ) -> PageOf: ...

    def children(self, tenant: str, kind: str, parent_id: str) -> list[Doc]:
        """The documents of `kind` that belong to `parent_id` (their ids are
        `{parent_id}.{...}`), in id order."""
        ...

    def children_page(self, tenant: str, kind: str, parent_id: str, *, limit: int, cursor: str | None) -> PageOf:
        """The same, a page at a time, in reverse id order (newest first
        when ids begin with their time); an unknown cursor is InvalidInput."""
        ...

    def dated(self, tenant: str, kind: str, *, start: str, end: str, limit: int, cursor: str | None) -> PageOf:
        """The tenant's issued documents of `kind` (invoices, credit notes,
        estimates; payment entries by the day they were received) dated
        from `start` to `end` (ISO days, both included), oldest first, then
        by number: an index's range, nothing else read (SPEC §14)."""
        ...

    def mark_viewed(self, tenant: str, invoice_id: str, version: int, at: str) -> bool:
        """Its hosted page opened: `viewed_version`, `version_viewed_at` and
        (the first time) `viewed_at` set beside the document, whose version
        does not change; False when this version was opened before (or the
        invoice is at another version now)."""
        ...

    def invoice_sequence(self, tenant: str) -> Sequence: ...

    def finalize(self, tenant: str, step: Finalization) -> None: ...

    def credit_note_sequence(self, tenant: str) -> Sequence: ...

    def issue_credit_note(self, tenant: str, step: CreditNoteIssue) -> None:
        """Numbers of credit notes are a series of their own, gap-free like
        invoices'; a number names one document, invoice or credit note."""
        ...

    def payment_token(self, token_hash: str) -> tuple[str, str] | None:
        """The (tenant, invoice id) whose payment link has this token hash."""
        ...

    def estimate_sequence(self, tenant: str) -> Sequence: ...

    def issue_estimate(self, tenant: str, step: EstimateIssue) -> None:
        """Estimates are numbered in a series of their own, gap-free like
        invoices'; the number's guard is shared with invoices and credit
        notes (a number names one document). The draft must still be the
        version read."""
        ...

    def quote_token(self, token_hash: str) -> tuple[str, str] | None:
        """The (tenant, estimate id) whose public page has this token hash."""
        ...

    def sweep_candidates(self, sweep: str, shard: int, today: str, cursor: str | None, limit: int) -> Candidates:
        """Documents of every tenant whose `sweep_{sweep}_on` is today or
        earlier (invoices; sent estimates for "expiry"), in one shard of the
        index, a page at a time."""
        ...

    def spend(self, allowances: list[Allowance]) -> None:
        """Count every allowance's amount, all or none: ConditionFailed with
        the indexes of those that would pass their limit, nothing counted."""
        ...

    def counted(self, key: str, period: str) -> int:
        """What was counted against `key` in `period` (0 when nothing)."""
        ...


class BlobStat(NamedTuple):
    size: int
    version: str | None  # pins what was checked: a later upload to the key is another version


class MissingBlob(Exception):
    """The object is not (or no longer) in the bucket."""


class BlobStore(Protocol):
    """Where documents and attachments live (S3): private objects, reached
    by clients only through short-lived pre-signed URLs."""

    def exists(self, key: str) -> bool: ...

    def put(
        self, key: str, data: bytes, content_type: str, *, if_absent: bool = False, retain_until: date | None = None
    ) -> bool:
        """Store the object; with `if_absent`, only if no object has the key
        (False then, and nothing written). `retain_until`: this version can
        be neither deleted nor overwritten before that day (S3 Object Lock,
        governance mode): an issued document the law keeps ten years."""
        ...

    def stat(self, key: str) -> BlobStat | None:
        """The stored object's size and version, None if there is none."""
        ...

    def read(self, key: str) -> bytes:
        """The whole object (MissingBlob if there is none)."""
        ...

    def head_bytes(self, key: str, count: int, version: str | None = None) -> bytes:
        """The first `count` bytes of the object (of that version): fewer
        if it is shorter, none if it is empty; MissingBlob if there is none."""
        ...

    def copy(self, source: str, target: str, content_type: str, version: str | None = None) -> None:
        """Copy the object (that version of it); MissingBlob if it is gone."""
        ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        """A pre-signed POST: `{url, fields}`, whose policy fixes the key and
        the content type and limits the size to 1..max_bytes."""
        ...

    def download_url(
        self, key: str, filename: str, expires_s: int, content_type: str = "application/pdf", inline: bool = True
    ) -> str: ...


class SendThrottled(Exception):
    """The provider asks to slow down: try again later."""


class SendRejected(Exception):
    """The provider refused the message for good (bad address, unverified
    sender, …): retrying would fail the same way. `misconfigured`: the
    platform's set-up is at fault (its sender not verified, SES still in
    its sandbox), not the message: an operator must act (an alarm)."""

    def __init__(self, message: str, misconfigured: bool = False) -> None:
        super().__init__(message)
        self.misconfigured = misconfigured


FEEDBACK_TAG = "tenant_id"  # the tag of every e-mail that names its tenant in SES's events


class Messenger(Protocol):
    """E-mail (SES) and SMS (SNS). Both answer the provider's message id."""

    def send_email(self, sender: str, recipient: str, mime: bytes, *, tenant: str | None = None) -> str:
        """`tenant`: whose message it is, tagged on it so that SES's bounce
        and complaint events name it (logic.limits.record_feedback)."""
        ...

    def send_sms(self, phone: str, text: str) -> str: ...

    def register_sender(self, address: str) -> None:
        """Ask SES to verify the address as a sender (it e-mails its owner a
        link); nothing if it is known already."""
        ...

    def sender_verified(self, address: str) -> bool:
        """Whether SES may send from the address (verified, it or its domain)."""
        ...


class WebhookOutcome(NamedTuple):
    """What one POST to a webhook endpoint got: its status code (None when no
    response came) or what went wrong, and how long it took."""

    status: int | None
    error: str | None
    ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    """The HTTP client of outgoing webhooks (adapters.webhook_http): names
    resolved and every address checked before a connection, no redirects."""

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to (none: it does not resolve)."""
        ...

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookOutcome: ...


class DeliveryQueue(Protocol):
    """The webhook deliveries' queue (SQS): a message per delivery to
    attempt; a failed attempt keeps its message, hidden until the next one."""

    def send_all(self, messages: list[dict[str, Any]]) -> None: ...

    def postpone(self, receipt: str, seconds: int) -> None:
        """Hide the received message `seconds` (12 hours at most)."""
        ...


class Queue(Protocol):
    """Work for later, a message at a time (SQS): the PDFs queued for
    rendering (logic.documents)."""

    def send(self, message: dict[str, Any]) -> None: ...


class WorkQueue(Queue, Protocol):
    """The sweeps' pages, and the dead-letter queue that takes what failed on its own."""

    def poison(self, message: dict[str, Any]) -> None: ...


class CardFailed(Exception):
    """Stripe refused the charge: `code` is Stripe's (card_declined,
    authentication_required, expired_card, …), `decline_code` the bank's,
    `payment_intent` the PaymentIntent it left (its id and metadata), when
    Stripe's error names one."""

    def __init__(
        self, code: str, message: str, decline_code: str | None, payment_intent: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.payment_intent = payment_intent


class StripeRefused(Exception):
    """Stripe answered the request with an error that is not the card's
    (a wrong parameter, an account not connected, a key refused)."""

    def __init__(self, code: str | None, message: str, status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class StripeUnavailable(Exception):
    """Stripe could not be reached, or answered 5xx or 429 after retries."""


class PaymentGateway(Protocol):
    """Stripe, for the calls the system makes: payments on the business's
    connected account with an idempotency key (a retry creates nothing
    twice), and, on the platform, the connected accounts themselves and
    their onboarding links. Each answers Stripe's object; CardFailed,
    StripeRefused or StripeUnavailable else."""

    def create_checkout_session(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]: ...

    def confirm_off_session(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]: ...

    def create_account(self, params: dict[str, Any], key: str) -> dict[str, Any]: ...

    def retrieve_account(self, account: str) -> dict[str, Any]: ...

    def create_account_link(self, params: dict[str, Any]) -> dict[str, Any]: ...

    def create_customer(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]: ...

    def retrieve_setup_intent(self, account: str | None, setup_intent: str) -> dict[str, Any]:
        """The SetupIntent, its payment_method expanded (the saved method's details)."""
        ...

    def retrieve_payment_method(self, account: str | None, payment_method: str) -> dict[str, Any]: ...

    def detach_payment_method(self, account: str | None, payment_method: str) -> dict[str, Any]: ...
