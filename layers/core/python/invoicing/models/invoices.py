"""Wire models of invoices and of the totals preview (SPEC §6.1)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from invoicing.models.common import (
    MAX_LINES,
    Address,
    Amount,
    Currency,
    Day,
    DiscountIn,
    DiscountOut,
    Id,
    Input,
    Logo,
    Name,
    Output,
    Page,
    Price,
    Quantity,
    ReadBack,
    ShortText,
    Taxes,
    TaxOut,
    Text,
    Version,
)
from invoicing.models.delivery import Delivery
from invoicing.models.payments import Payment
from invoicing.models.resources import CustomerSnapshot, TradeRegister
from invoicing.models.settings import (
    LateFees,
    LateFeesOut,
    PaymentMethods,
    PaymentSchedule,
    PaymentScheduleOut,
    Reminders,
    Tips,
    TipsOut,
)

# What a client may send back from a response: computed or server-owned, so
# silently ignored ("totals sent by a client are ignored", SPEC §4).
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "number",
        "totals",
        "late_fees_total",
        "amount_paid",
        "amount_due",
        "payments",
        "payment_link",
        "business",
        "customer",
        "created_at",
        "updated_at",
        "finalized_at",
        "voided_at",
        "credit_notes",
        "credited",
        "attachments",
        "deliveries",
        "overdue",
        "next_due_date",
        "net",
    }
)


class _IgnoresReadOnly(ReadBack):
    read_only = READ_ONLY


class LineIn(ReadBack):
    read_only = frozenset({"net"})

    product_id: Id | None = None
    name: Name | None = Field(default=None, description="defaults to the product's name")
    description: Text | None = None
    quantity: Quantity = Decimal(1)
    unit_price: Price | None = Field(default=None, description="defaults to the product's price")
    unit: ShortText | None = None
    discount: DiscountIn | None = None
    taxes: Taxes | None = Field(default=None, description="defaults to the product's taxes")


Lines = Annotated[list[LineIn], Field(max_length=MAX_LINES, description=f"at most {MAX_LINES} lines")]


class InvoiceFields(_IgnoresReadOnly):
    """What a draft is made of; every field optional so PATCH can share it."""

    customer_id: Id | None = None
    currency: Currency | None = Field(default=None, description="defaults to the business currency")
    issue_date: Day | None = Field(default=None, description="defaults to the finalization date")
    due_date: Day | None = Field(default=None, description="defaults to issue date + payment terms")
    service_date: Day | None = Field(
        default=None,
        description="the date of the sale or of the service (a mandatory mention when it differs from the issue date)",
    )
    purchase_order: ShortText | None = Field(default=None, description="the client's order reference, if it gave one")
    delivery_address: Address | None = Field(
        default=None,
        description="where the goods are delivered or the service done, printed when it is not the client's address",
    )
    discount: DiscountIn | None = None
    notes: Text | None = None
    terms: Text | None = None
    late_fees: LateFees | None = None
    tips: Tips | None = None
    payment_schedule: PaymentSchedule | None = None
    payment_methods: PaymentMethods | None = None


class InvoiceIn(InvoiceFields):
    name: Name
    lines: Lines = []


class InvoicePatch(InvoiceFields):
    name: Name | None = None
    lines: Lines | None = None
    version: Version | None = Field(default=None, description="required here or as If-Match")


class TotalsRequest(InvoiceFields):
    """The body of an invoice; only currency, lines and discount matter."""

    name: Annotated[str, Field(max_length=200)] | None = None
    lines: Lines = []
    currency: Currency = "EUR"  # type: ignore[assignment]


class VersionIn(Input):
    version: Version | None = None


class TaxAmountOut(Output):
    name: str
    rate: Amount
    base: Amount
    tax: Amount


class InvoiceTotals(Output):
    subtotal: Amount = Field(description="the lines' nets: Total HT")
    discount: Amount = Field(description="the invoice's discount: Remise")
    tax_breakdown: list[TaxAmountOut] = Field(description="per tax and rate: the base (Total HT net) and the tax")
    tax_total: Amount
    total: Amount = Field(description="Total TTC")


class TotalsOut(InvoiceTotals):
    """`POST /totals`: the totals, and each line's net for the preview."""

    line_nets: list[Amount]


class LineOut(Output):
    product_id: str | None = None
    name: str
    description: str | None = None
    quantity: Amount
    unit_price: Amount
    unit: str | None = None
    discount: DiscountOut | None = None
    taxes: list[TaxOut]
    net: Amount | None = Field(default=None, description="quantity × unit price less the line's discount (documents)")


class BusinessSnapshot(Output):
    """The seller as the invoice was issued: its own copy, never changed since."""

    legal_name: str
    legal_form: str | None = None
    address: Address | None
    email: str | None
    phone: str | None
    siren: str | None
    vat_number: str | None
    share_capital: Amount | None = None
    trade_register: TradeRegister | None = None
    vat_on_debits: bool | None = None
    vat_franchise: bool | None
    logo_url: str | None
    logo: Logo | None
    locale: str | None
    early_payment_terms: str | None
    iban: str | None
    bic: str | None
    operations: Literal["goods", "services", "mixed"] | None


class LateFeeEntry(Output):
    period: date = Field(description="the day the period of lateness began: a fee per period, once")
    amount: Amount
    applied_on: date
    applied_at: datetime


class PaymentFailure(Output):
    """A payment Stripe said failed (a card declined, a debit returned)."""

    stripe_payment_intent: str
    event_id: str | None
    code: str | None
    message: str
    failed_at: datetime


class CreditNoteRef(Output):
    """A credit note as its invoice lists it."""

    id: str
    number: str
    total: Amount
    issue_date: date


class Attachment(Output):
    """A confirmed attachment, as the invoice lists it."""

    id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: str


class _InvoiceOut(Output):
    """What an invoice and its list entry both show."""

    id: str
    name: str
    status: Literal["draft", "open", "partially_paid", "paid", "void"]
    number: str | None = Field(description="from its series at issue; null while a draft")
    customer_id: str | None
    currency: str
    issue_date: date | None
    due_date: date | None
    next_due_date: date | None = Field(
        description="when the next payment is due: the earliest unpaid instalment's, else the due date"
    )
    service_date: date | None
    purchase_order: str | None
    delivery_address: Address | None = None
    discount: DiscountOut | None
    late_fees: LateFeesOut | None
    tips: TipsOut | None
    payment_methods: PaymentMethods | None
    payment_schedule: PaymentScheduleOut | None
    reminders: Reminders | None = Field(default=None, description="as issued")
    totals: InvoiceTotals
    late_fees_total: Amount
    late_fee_entries: list[LateFeeEntry] | None = None
    amount_paid: Amount
    amount_due: Amount
    amount_overpaid: Amount | None = Field(default=None, description="received beyond what is due: to give back")
    credited: Amount = Field(description="what its credit notes took off")
    credit_notes: list[CreditNoteRef] = Field(description="its credit notes (avoirs), oldest first")
    attachments: list[Attachment] = Field(description="confirmed attachments, in upload order")
    payment_failures: list[PaymentFailure] | None = None
    overdue: bool
    payment_link: str | None = Field(description="the hosted page where the client views and pays it")
    finalized_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class Invoice(_InvoiceOut):
    lines: list[LineOut]
    notes: str | None
    terms: str | None
    business: BusinessSnapshot | None = Field(default=None, description="the seller, as issued")
    customer: CustomerSnapshot | None = Field(default=None, description="the client, as issued")
    payments: list[Payment] = Field(description="oldest first, cancelled ones included")
    deliveries: list[Delivery] = Field(description="e-mails and SMS sent or to send, oldest first")


class InvoiceSummary(_InvoiceOut):
    """An invoice in a list: no lines, notes, terms, snapshots or payments."""

    customer_name: str | None
    line_count: int


class InvoicePage(Page[InvoiceSummary]):
    """A page of invoices: follow `next_cursor` until it is null."""


class PdfLink(Output):
    url: str = Field(description="pre-signed GET of the PDF")
    expires_in: int = Field(description="seconds")
    version: int = Field(description="the invoice version the PDF shows")


class PdfRendering(Output):
    status: Literal["rendering"]
    version: int = Field(description="the version being rendered")
    retry_after: int = Field(description="seconds to wait before asking again (also in Retry-After)")


Filename = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f\x7f]+$",
        description="the file's name as the client will see it, without folders",
        examples=["bon-de-commande.pdf"],
    ),
]


class AttachmentIn(Input):
    filename: Filename
    content_type: Annotated[
        str, Field(max_length=255, examples=["application/pdf"], description="PDF, PNG, JPEG, GIF, WebP or office")
    ]
    size: Annotated[int, Field(ge=1, description="bytes; at most 20 MiB (20,971,520)")]


class UploadForm(Output):
    url: str = Field(description="POST a multipart form here: `fields` first, then the file as `file`")
    fields: dict[str, str]


class AttachmentUpload(Output):
    """A reserved attachment: upload the file with `upload`, then confirm it."""

    id: str
    filename: str
    content_type: str
    size: int = Field(description="as declared; confirm measures the stored file")
    status: Literal["pending"]
    upload: UploadForm
    expires_in: int = Field(description="seconds the upload form stays valid")


class AttachmentLink(Attachment):
    url: str = Field(description="pre-signed GET of the file")
    expires_in: int = Field(description="seconds")
