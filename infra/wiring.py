"""The one declaration of the system's wiring.

Which function answers which route and which event of the invoicing bus
(and, in later issues, which schedule), and the shape of the single table. Both the CDK app (`infra/stack.py`)
and the local runtime (`infra/local/`) read this module, so they cannot drift.

Plain Python only: no CDK, no boto3, so the local runtime imports it for free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The environment variables the stack sets and the functions read (invoicing.settings):
# declared once, there.
from invoicing.settings import (  # noqa: F401
    DOCUMENTS_BUCKET_ENV,
    EXPORT_QUEUE_ENV,
    PAY_LINK_SECRET_ENV,
    PLATFORM_SENDER_ENV,
    RENDER_QUEUE_ENV,
    SES_CONFIGURATION_SET_ENV,
    STRIPE_SECRET_ENV,
    SWEEP_DEAD_LETTERS_ENV,
    SWEEP_QUEUE_ENV,
    TABLE_ENV,
    WEBHOOK_QUEUE_ENV,
)

# What every function's environment holds, on AWS and in the local runtime.
# Pydantic looks for plugins among every installed distribution's entry points
# when it builds its first validator (25 ms of a cold start here); we use none.
FUNCTION_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "invoicing",
    "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


@dataclass(frozen=True)
class Function:
    """One Lambda: its code folder under `functions/` and how it runs."""

    name: str
    description: str
    memory_mb: int = 512
    timeout_s: int = 10
    # What the function may do to the table: "none", "read" or "read_write".
    table_access: str = "read_write"
    # What the function may do to the documents bucket: "none" or "read_write" (get and put objects).
    bucket_access: str = "none"
    # Key prefixes under which it deletes objects (a delete marker: the versions stay), and reads
    # pinned versions of them; nowhere else (infra/constructs/functions.py).
    deletes_under: tuple[str, ...] = ()
    reads_versions_under: tuple[str, ...] = ()
    # Whether it stores issued invoices' and credit notes' PDFs, which it keeps ten years with an
    # Object Lock retention of their own (GOVERNANCE), set as it writes them.
    retains_issued_documents: bool = False
    # Lambda layers, by name (see LAYERS): the shared code and the common
    # dependencies; the renderer adds fpdf2 and the font.
    layers: tuple[str, ...] = ("core", "deps")
    # Whether it sends e-mail (SES) and SMS (SNS) to the businesses' clients.
    sends_messages: bool = False
    # Whether it reads the platform's Stripe secrets (STRIPE_SECRET_NAME, a Secrets Manager secret).
    reads_stripe_secret: bool = False
    # Whether it shows or issues payment links (PAY_LINK_SECRET_NAME, the
    # Secrets Manager secret they are derived from: invoicing.logic.paylinks).
    signs_pay_links: bool = False
    # Whether it records an invoice's hosted page opened (`viewed_*`, beside the document: SPEC §13),
    # the one write a table_access "read" function may then make (UpdateItem of those attributes).
    marks_viewed: bool = False
    # Concurrent executions kept for it alone, and never exceeded (None: the account's pool).
    reserved_concurrency: int | None = None
    # Environment beyond the wiring-derived variables (TABLE_NAME, ...).
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def code_dir(self) -> str:
        return f"functions/{self.name}"

    @property
    def handler(self) -> str:
        """The handler as Lambda names it, relative to the code folder."""
        return "handler.lambda_handler"

    @property
    def module(self) -> str:
        """The handler's module as the local runtime imports it."""
        return f"functions.{self.name}.handler"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /invoices/{invoice_id}
    function: str
    public: bool = False  # no authorizer (webhooks, hosted page, openapi)

    def matcher(self) -> re.Pattern[str]:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{pattern}$")


# Every event the system publishes comes from this source
# (layers/core/python/invoicing/events.py names the detail types).
EVENT_SOURCE = "invoicing"


@dataclass(frozen=True)
class EventRule:
    """Events of the invoicing bus, by detail type, delivered to a function.
    The function runs asynchronously: an invocation that fails is retried
    `retry_attempts` times (Lambda allows 0–2), then the event is kept in the
    target's dead-letter queue, which has an alarm. The local runtime
    retries the same way."""

    name: str
    detail_types: tuple[str, ...]
    function: str
    retry_attempts: int = 2
    max_event_age_s: int = 6 * 3600
    # Events of an AWS service (SES's, say) come on the account's default bus
    # with the service's source; the invoicing bus carries the stream's own.
    source: str = EVENT_SOURCE
    default_bus: bool = False


@dataclass(frozen=True)
class StreamPipe:
    """The table's change stream to the bus (SPEC §16). EventBridge Pipes
    reads the stream (old and new images), lets through the records of the
    items whose sort key begins with one of `key_prefixes`, hands each
    batch to `enrichment` (invoicing.events: the events each change holds)
    and puts what it answers on the bus. A batch that fails is retried,
    halved to find a bad record, until its records are `max_record_age_s`
    old; then the pipe's dead-letter queue keeps where they were (the
    stream keeps them 24 hours), and its alarm fires. The local runtime
    reads the emulation's stream the same way (infra/local/pipe.py)."""

    name: str
    enrichment: str
    key_prefixes: tuple[str, ...]
    batch_size: int = 10
    max_record_age_s: int = 6 * 3600

    def passes(self, keys: dict[str, dict[str, str]]) -> bool:
        """The pipe's filter on a record's keys (DynamoDB JSON)."""
        return keys["sk"]["S"].startswith(self.key_prefixes)

    def filter_pattern(self) -> dict[str, object]:
        """The same filter, as the pipe's event pattern."""
        return {"dynamodb": {"Keys": {"sk": {"S": [{"prefix": prefix} for prefix in self.key_prefixes]}}}}


@dataclass(frozen=True)
class Schedule:
    """A scheduled rule (EventBridge, cron in UTC): it invokes `function`
    with `input` and the event's time, the sweeps' clock. The stack's
    context can move it (`{name}_cron`)."""

    name: str
    cron: str  # EventBridge's six fields: minute hour day-of-month month day-of-week year
    function: str
    input: dict[str, str]


@dataclass(frozen=True)
class WorkQueue:
    """An SQS queue of work that `function` consumes in batches, reporting
    the messages it failed one by one; a message failed `max_receives`
    times moves to the queue's dead-letter queue, which has an alarm."""

    name: str
    function: str
    url_env: str  # where the consumer and the producers find its URL
    dead_letters_env: str | None = None  # for a consumer that sends poison messages there itself
    producers: tuple[str, ...] = ()  # the other functions that send to it
    batch_size: int = 10
    max_receives: int = 3
    max_concurrency: int | None = None  # of the event source: its share of the consumer's concurrency
    visibility_timeout_s: int = 6 * 60  # six times the function's timeout, as AWS advises
    # The consumer hides each message it keeps for later itself (ChangeMessageVisibility, then reports
    # it failed): the event source leaves it hidden so long, and only the others reappear after
    # `visibility_timeout_s`.
    sets_own_visibility: bool = False


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = "expires_at"
    indexes: tuple[Index, ...] = ()


API = Function(
    "api",
    "Business profile, customers, products and invoices",
    signs_pay_links=True,
    reads_stripe_secret=True,  # charging a saved card
    layers=("core", "deps", "stripe"),
)
TOTALS = Function(
    "totals",
    "Stateless totals for the editor's live preview",
    memory_mb=1024,  # more memory = more CPU: it answers on every keystroke
    timeout_s=5,
    table_access="none",
)

DOCUMENTS = Function(
    "documents",
    "Invoice documents: the HTML preview (Jinja2, Babel) and the PDF (fpdf2), stored in S3 on bus events "
    "and on the render queue",
    memory_mb=1024,
    timeout_s=120,  # the largest PDF SPEC allows, queued (requests answer within seconds: logic.documents)
    # Its renders (bus events, the render queue) never take the account's concurrency from payments and
    # the other functions; the queue's renders take 5 of its 20, the rest serve previews and PDF links.
    reserved_concurrency=20,
    table_access="read",
    bucket_access="read_write",
    deletes_under=("renders/",),  # a render state whose message could not be queued
    retains_issued_documents=True,
    layers=("core", "deps", "pdf"),
)

ATTACHMENTS = Function(
    "attachments",
    "Files: attachments of draft invoices and the business logo, uploaded to S3 and checked on confirm",
    memory_mb=512,
    timeout_s=10,
    table_access="read_write",
    bucket_access="read_write",
    # Uploads refused or confirmed (pending/), files taken off a draft or with their deleted draft
    # (attachments/); the confirm reads the very version of the upload it checked.
    deletes_under=("pending/", "attachments/"),
    reads_versions_under=("pending/",),
)

DELIVERY = Function(
    "delivery",
    "Sends invoices by e-mail (SES, the PDF attached) and SMS (SNS), from the bus; the sender-address routes",
    memory_mb=1024,
    timeout_s=60,
    table_access="read_write",
    bucket_access="read_write",  # reads the PDF, renders it if its own event has not yet
    retains_issued_documents=True,
    layers=("core", "deps", "pdf"),
    sends_messages=True,
    signs_pay_links=True,  # the link in the message
)

WEBHOOKS = Function(
    "webhooks",
    "Stripe's webhook: payments, failures, refunds and saved payment methods, from the signed events",
    memory_mb=512,
    timeout_s=10,
    # Stripe's deliveries never take the concurrency payments pages need, and a flood of them (or of
    # forged ones, refused on their signature) never takes the account's: beyond it, 429, and Stripe
    # retries for three days. Ten at ~100 ms an event is ~100 events a second.
    reserved_concurrency=10,
    reads_stripe_secret=True,
    # a saved card's or IBAN's details are asked of Stripe (its events carry none); loaded only then
    layers=("core", "deps", "stripe"),
)

PAY = Function(
    "pay",
    "The hosted invoice page: the invoice, its PDF, and Stripe Checkout for the client (public)",
    memory_mb=1024,
    timeout_s=20,
    # Public: a flood of /pay requests (each may render a PDF) is held to these, and the pages
    # clients open after a mass mailing always have them (~50 pages a second at 200 ms a page).
    reserved_concurrency=10,
    table_access="read",  # a payment is recorded from Stripe's event (webhooks), never here
    marks_viewed=True,  # its first opening of each version: invoice.viewed for the CRM
    bucket_access="read_write",  # the PDF, rendered if its event has not stored it yet
    deletes_under=("renders/",),  # a render state whose message could not be queued
    retains_issued_documents=True,
    layers=("core", "deps", "pdf", "stripe"),
    reads_stripe_secret=True,
)

ESTIMATES = Function(
    "estimates",
    "Estimates (devis): drafts, sending, and the invoices made from accepted ones",
    signs_pay_links=True,  # the estimate's page link, and the deposit invoice's payment link
)

QUOTE = Function(
    "quote",
    "The estimate's public page: the estimate, its PDF, and the client's Accept and Decline (public)",
    memory_mb=1024,
    timeout_s=20,
    # Public, as pay's: a flood of /quote requests (a page may render a PDF) is held to these. An
    # estimate is read and answered once or twice, where an invoice's page is opened until it is paid.
    reserved_concurrency=5,
    table_access="read_write",  # the client's answer
    bucket_access="read_write",  # the PDF, rendered if its event has not stored it yet (never locked)
    layers=("core", "deps", "pdf"),
    signs_pay_links=True,  # its token is derived from the payment links' key (invoicing.logic.quotes)
)

RECURRING = Function(
    "recurring",
    "Recurring invoices: their schedules, paused, resumed and cancelled",
)

SWEEPS = Function(
    "sweeps",
    "The scheduled sweeps (recurring invoices, late fees, invoices newly overdue, reminders, estimates' expiry): "
    "fans each out by index shard, then works the pages from its queue",
    memory_mb=1024,
    timeout_s=60,
    table_access="read_write",
    layers=("core", "deps", "stripe"),  # a recurring invoice charged to the client's saved method
    reads_stripe_secret=True,
    signs_pay_links=True,  # a recurring invoice issued has its payment link
)

EVENTS = Function(
    "events",
    "The pipe's enrichment: the events each committed change of the table holds, for the bus (SPEC §16)",
    memory_mb=256,
    timeout_s=30,
    table_access="none",  # it reads the stream records it is handed, nothing else
)

HOOKS = Function(
    "hooks",
    "Outgoing webhooks: their endpoints (routes), the events of the table's stream fanned out to them (the bus), "
    "and each attempt (their queue)",
    memory_mb=512,
    timeout_s=30,  # a batch of 10 attempts at once, 10 s each at most
    # Deliveries to slow endpoints never take the account's concurrency from the API and payments.
    reserved_concurrency=10,
    signs_pay_links=True,  # an invoice, as the API returns it, shows its payment link
    sends_messages=True,  # the business told that its endpoint was disabled
)

REPORTS = Function(
    "reports",
    "Reports and exports (SPEC §14): summary, aging, VAT, the accountant's files; and the payment entries "
    "they read, kept from the invoices' events",
    memory_mb=1024,  # a report of 10,000 invoices reads them all: CPU with the memory
    timeout_s=60,
    bucket_access="read_write",  # the exports' files
    deletes_under=("exports/",),  # an export's parts, once joined into its file
)

FUNCTIONS: tuple[Function, ...] = (
    API, TOTALS, DOCUMENTS, ATTACHMENTS, DELIVERY, WEBHOOKS, PAY, ESTIMATES, QUOTE, RECURRING, SWEEPS, EVENTS, HOOKS,
    REPORTS,
)  # fmt: skip


def _crud(path: str, item: str, function: str, *, update: str = "PATCH") -> list[Route]:
    return [
        Route("GET", path, function),
        Route("POST", path, function),
        Route("GET", f"{path}/{{{item}}}", function),
        Route(update, f"{path}/{{{item}}}", function),
        Route("DELETE", f"{path}/{{{item}}}", function),
    ]


ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", "api", public=True),
    Route("GET", "/business", "api"),
    Route("PUT", "/business", "api"),
    Route("PATCH", "/business", "api"),
    Route("POST", "/business/stripe/onboarding", "api"),
    Route("POST", "/business/logo", "attachments"),
    Route("POST", "/business/logo/confirm", "attachments"),
    Route("DELETE", "/business/logo", "attachments"),
    Route("GET", "/business/sender", "delivery"),
    Route("POST", "/business/sender", "delivery"),
    Route("POST", "/business/sender/confirm", "delivery"),
    Route("DELETE", "/business/sender", "delivery"),
    *_crud("/customers", "customer_id", "api"),
    Route("GET", "/customers/{customer_id}/statement", "documents"),
    Route("POST", "/customers/{customer_id}/payment-methods/setup", "api"),
    Route("GET", "/customers/{customer_id}/payment-methods", "api"),
    Route("DELETE", "/customers/{customer_id}/payment-methods/{payment_method_id}", "api"),
    Route("POST", "/customers/{customer_id}/payment-methods/{payment_method_id}/default", "api"),
    *_crud("/products", "product_id", "api"),
    *_crud("/templates", "template_id", "api"),
    Route("POST", "/templates/{template_id}/invoices", "api"),
    *_crud("/estimates", "estimate_id", "estimates"),
    Route("POST", "/estimates/{estimate_id}/send", "estimates"),
    Route("POST", "/estimates/{estimate_id}/mark-sent", "estimates"),
    Route("POST", "/estimates/{estimate_id}/duplicate", "estimates"),
    Route("POST", "/estimates/{estimate_id}/invoices", "estimates"),
    *_crud("/recurring-invoices", "recurring_id", "recurring"),
    Route("POST", "/recurring-invoices/{recurring_id}/pause", "recurring"),
    Route("POST", "/recurring-invoices/{recurring_id}/resume", "recurring"),
    Route("POST", "/recurring-invoices/{recurring_id}/cancel", "recurring"),
    *_crud("/invoices", "invoice_id", "api"),
    Route("POST", "/invoices/{invoice_id}/mark-sent", "api"),
    Route("POST", "/invoices/{invoice_id}/void", "api"),
    Route("POST", "/invoices/{invoice_id}/credit-notes", "api"),
    Route("GET", "/credit-notes/{credit_note_id}", "api"),
    Route("POST", "/credit-notes/{credit_note_id}/send", "api"),
    Route("GET", "/credit-notes/{credit_note_id}/pdf", "documents"),
    Route("POST", "/invoices/{invoice_id}/duplicate", "api"),
    Route("POST", "/invoices/{invoice_id}/send", "api"),
    Route("POST", "/invoices/{invoice_id}/template", "api"),
    Route("POST", "/invoices/{invoice_id}/payments", "api"),
    Route("GET", "/invoices/{invoice_id}/payments", "api"),
    Route("POST", "/invoices/{invoice_id}/payments/{payment_id}/cancel", "api"),
    Route("GET", "/invoices/{invoice_id}/preview", "documents"),
    Route("GET", "/invoices/{invoice_id}/pdf", "documents"),
    Route("GET", "/estimates/{estimate_id}/preview", "documents"),
    Route("GET", "/estimates/{estimate_id}/pdf", "documents"),
    Route("POST", "/invoices/{invoice_id}/attachments", "attachments"),
    Route("GET", "/invoices/{invoice_id}/attachments", "attachments"),
    Route("GET", "/invoices/{invoice_id}/attachments/{attachment_id}", "attachments"),
    Route("DELETE", "/invoices/{invoice_id}/attachments/{attachment_id}", "attachments"),
    Route("POST", "/invoices/{invoice_id}/attachments/{attachment_id}/confirm", "attachments"),
    Route("GET", "/webhook-endpoints", "hooks"),
    Route("POST", "/webhook-endpoints", "hooks"),
    Route("GET", "/webhook-endpoints/{endpoint_id}", "hooks"),
    Route("PATCH", "/webhook-endpoints/{endpoint_id}", "hooks"),
    Route("DELETE", "/webhook-endpoints/{endpoint_id}", "hooks"),
    Route("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret", "hooks"),
    Route("POST", "/webhook-endpoints/{endpoint_id}/test", "hooks"),
    Route("GET", "/webhook-endpoints/{endpoint_id}/deliveries", "hooks"),
    Route("POST", "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry", "hooks"),
    Route("GET", "/reports/summary", "reports"),
    Route("GET", "/reports/aging", "reports"),
    Route("GET", "/reports/vat", "reports"),
    Route("POST", "/exports", "reports"),
    Route("GET", "/exports/{export_id}", "reports"),
    Route("POST", "/totals", "totals"),
    Route("POST", "/webhooks/stripe", "webhooks", public=True),
    Route("GET", "/pay/{token}", "pay", public=True),
    Route("GET", "/pay/{token}/pdf", "pay", public=True),
    Route("GET", "/pay/{token}/attachments/{attachment_id}", "pay", public=True),
    Route("POST", "/pay/{token}/checkout", "pay", public=True),
    Route("GET", "/quote/{token}", "quote", public=True),
    Route("GET", "/quote/{token}/pdf", "quote", public=True),
    Route("POST", "/quote/{token}/accept", "quote", public=True),
    Route("POST", "/quote/{token}/decline", "quote", public=True),
)

EVENT_RULES: tuple[EventRule, ...] = (
    # A PDF for every issued version, made before anyone asks for it.
    EventRule(
        "render-pdf",
        (
            "Invoice Finalized",
            "Invoice Amounts Changed",
            "Invoice Voided",
            "Payment Recorded",
            "Payment Cancelled",
            "Credit Note Issued",
            "Estimate Sent",
            "Estimate Accepted",
        ),
        "documents",
    ),
    # A deleted draft's attachments leave the bucket.
    EventRule("purge-attachments", ("Invoice Deleted",), "attachments"),
    # Deliveries requested by POST /invoices/{id}/send, and the reminders the sweep queued.
    EventRule("deliver", ("Invoice Sent", "Invoice Reminder Due", "Estimate Delivery Requested"), "delivery"),
    # The client's receipts: after each payment, or when nothing is due any more (the business's setting).
    EventRule("receipt", ("Payment Recorded", "Invoice Paid"), "delivery"),
    # The business told of its client's answer on the estimate's page (its profile's e-mail).
    EventRule("estimate-answered", ("Estimate Accepted", "Estimate Declined"), "delivery"),
    # Each invoice's payments as entries by the day received, with their share of its VAT (SPEC §14).
    EventRule(
        "payment-entries",
        (
            "Payment Recorded",
            "Payment Cancelled",
            "Invoice Amounts Changed",
            "Credit Note Issued",
            "Invoice Voided",
            "Invoice Paid",
        ),
        "reports",
    ),
    # The events the CRM's endpoints take (SPEC §13): a delivery per endpoint, queued.
    EventRule("webhooks-out", ("Webhook Event",), "hooks"),
    # SES's hard bounces and complaints (its configuration set's events, tagged with the tenant): a tenant
    # past SES's thresholds stops sending (SPEC §15, invoicing.logic.limits).
    EventRule(
        "ses-feedback", ("Email Bounced", "Email Complaint Received"), "delivery", source="aws.ses", default_bus=True
    ),
)

# Invoices, deliveries and estimates: the documents whose changes hold events (invoicing.events.EVENTFUL_KINDS).
PIPE = StreamPipe("changes", enrichment="events", key_prefixes=("INV#", "DLV#", "EST#"))

# Daily, in UTC: the fees first, so that the day's reminders show them. Estimates
# past their last valid day expire before the working day (until then they show expired).
# Invoices newly overdue are marked once (`overdue_at`: SPEC §13's invoice.overdue) after
# the fees, before the reminders.
SCHEDULES: tuple[Schedule, ...] = (
    Schedule("recurring-invoices", "0 3 * * ? *", "sweeps", {"sweep": "recurring"}),
    Schedule("estimate-expiry", "0 4 * * ? *", "sweeps", {"sweep": "expiry"}),
    Schedule("late-fees", "0 5 * * ? *", "sweeps", {"sweep": "late_fees"}),
    Schedule("overdue-invoices", "0 6 * * ? *", "sweeps", {"sweep": "overdue"}),
    Schedule("reminders", "0 7 * * ? *", "sweeps", {"sweep": "reminders"}),
)

# The pages of candidates a sweep fans out (one message per index shard, then
# one per next page); a poison invoice is sent to the dead-letter queue alone.
QUEUES: tuple[WorkQueue, ...] = (
    WorkQueue(
        "sweep-pages",
        "sweeps",
        url_env=SWEEP_QUEUE_ENV,
        dead_letters_env=SWEEP_DEAD_LETTERS_ENV,
        batch_size=1,
        max_receives=3,
    ),  # fmt: skip
    # PDFs too large to render while a request waits (logic.documents): the request answers 202. A
    # render that dies (its timeout) is tried once more, then recorded as failed (the render state
    # counts the renders started: a delivery throttled before it ran is not one, hence 5 receives).
    WorkQueue(
        "renders",
        "documents",
        url_env=RENDER_QUEUE_ENV,
        producers=("documents", "pay"),
        batch_size=1,
        max_receives=5,
        max_concurrency=5,
        visibility_timeout_s=6 * 120,
    ),  # fmt: skip
    # Outgoing webhooks' attempts (SPEC §13): a failed one's message hidden until the next (5 s … 12 h),
    # for three days; a message its consumer failed on (not an endpoint's failure) comes back after
    # the visibility timeout, and after 50 receives waits in the dead-letter queue.
    # Exports (SPEC §14): each message a step that writes a part of the file (5,000 documents at
    # most), then queues the next; the last joins the parts. A step taken twice writes nothing twice.
    WorkQueue(
        "exports",
        "reports",
        url_env=EXPORT_QUEUE_ENV,
        batch_size=1,
        max_receives=5,
        visibility_timeout_s=6 * 60,
    ),  # fmt: skip
    WorkQueue(
        "webhook-deliveries",
        "hooks",
        url_env=WEBHOOK_QUEUE_ENV,
        batch_size=10,
        max_receives=50,
        visibility_timeout_s=6 * 30,
        sets_own_visibility=True,
        max_concurrency=4,  # of the hooks function's 10: the others fan events out and answer the routes
    ),  # fmt: skip
)

# Layer name → its folder, relative to the repository (built ones by `make build`).
LAYERS: dict[str, str] = {
    "core": "build/layers/core",  # python/invoicing: the shared package (layers/core/python), with its bytecode
    "deps": "build/layers/deps",  # python/: powertools, pydantic, jinja2, babel
    "pdf": "build/layers/pdf",  # python/: fpdf2, factur-x and what they need; fonts/: DejaVu Sans (→ /opt/fonts)
    "stripe": "build/layers/stripe",  # python/: the stripe library
}

# The private bucket of rendered PDFs and attachments: keys are
# {tenant}/invoices/{invoice id}/v{version}.pdf, {tenant}/credit-notes/{id}.pdf and
# {tenant}/invoices/{invoice id}/attachments/{attachment id}, uploads land
# under pending/ until confirmed. Its name reaches the functions in this variable.

TABLE = TableSpec(
    indexes=(
        # Invoices of one tenant by status.
        Index("by_status", "gsi1pk", "gsi1sk"),
        # Invoices of one tenant by customer.
        Index("by_customer", "gsi2pk", "gsi2sk"),
        # Sparse: issued, unpaid invoices of one tenant by the day their next payment is due (overdue).
        Index("by_due_date", "gsi3pk", "gsi3sk"),
        # Sparse, across tenants, sharded: the documents a scheduled sweep has
        # work for, by the day it is due (an invoice's next late fee, its next
        # reminder; a sent estimate's expiry; a recurring invoice's next occurrence; an
        # invoice's first day overdue). gsi{4 + n} is invoicing.ports.SWEEPS[n]'s.
        # An existing table takes one new index per deployment (DynamoDB):
        # add them one after the other there.
        Index("by_late_fees_date", "gsi4pk", "gsi4sk"),
        Index("by_reminders_date", "gsi5pk", "gsi5sk"),
        Index("by_expiry_date", "gsi6pk", "gsi6sk"),
        Index("by_recurring_date", "gsi7pk", "gsi7sk"),
        Index("by_overdue_date", "gsi8pk", "gsi8sk"),
        # The tenant's invoices, estimates, credit notes (issued: by day, then number; drafts after)
        # and payment entries (by the day received): what reports and exports read (SPEC §14).
        # Its own deployment on an existing table (one new index per deployment).
        Index("by_date", "gsi9pk", "gsi9sk"),
    )
)


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def routes_of(function_name: str) -> list[Route]:
    return [route for route in ROUTES if route.function == function_name]


def rules_for(detail_type: str, source: str = EVENT_SOURCE) -> list[EventRule]:
    """The rules an event matches (EventBridge's pattern on source and detail-type)."""
    return [rule for rule in EVENT_RULES if rule.source == source and detail_type in rule.detail_types]
