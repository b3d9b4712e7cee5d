"""Wire models of invoices and of the totals preview (SPEC §6.1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from invoicing.models.common import (
    MAX_LINES,
    Address,
    Currency,
    Day,
    DiscountIn,
    Id,
    Input,
    Model,
    Name,
    Price,
    Quantity,
    ReadBack,
    ShortText,
    Taxes,
    Text,
    Version,
)
from invoicing.models.delivery import Delivery
from invoicing.models.settings import LateFees, PaymentMethods, PaymentSchedule, Tips

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


class TaxAmountOut(Model):
    name: str
    rate: str
    base: str
    tax: str


class InvoiceTotals(Model):
    subtotal: str
    discount: str
    tax_breakdown: list[TaxAmountOut]
    tax_total: str
    total: str


class TotalsOut(InvoiceTotals):
    """`POST /totals`: the totals, and each line's net for the preview."""

    line_nets: list[str]


class _InvoiceOut(Model):
    """What an invoice and its list entry both show."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: Literal["draft", "open", "partially_paid", "paid", "void"]
    number: str | None
    customer_id: str | None
    currency: str
    issue_date: date | None
    due_date: date | None
    totals: InvoiceTotals
    late_fees_total: str
    amount_paid: str
    amount_due: str
    overdue: bool
    payment_link: str | None
    version: int


class CreditNoteRef(Model):
    """A credit note as its invoice lists it."""

    id: str
    number: str
    total: str
    issue_date: date


class Invoice(_InvoiceOut):
    lines: list[dict[str, Any]]
    credited: str = Field(description="what its credit notes took off")
    credit_notes: list[CreditNoteRef] = Field(default=[], description="its credit notes (avoirs), oldest first")
    attachments: list[Attachment] = Field(default=[], description="confirmed attachments, in upload order")
    deliveries: list[Delivery] = Field(default=[], description="e-mails and SMS sent or to send, oldest first")


class InvoiceSummary(_InvoiceOut):
    """An invoice in a list: no lines, notes, terms or snapshots."""

    customer_name: str | None
    line_count: int


class PdfLink(Model):
    url: str = Field(description="pre-signed GET of the PDF")
    expires_in: int = Field(description="seconds")
    version: int = Field(description="the invoice version the PDF shows")


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


class Attachment(Model):
    """A confirmed attachment, as the invoice lists it."""

    id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: str


class UploadForm(Model):
    url: str = Field(description="POST a multipart form here: `fields` first, then the file as `file`")
    fields: dict[str, str]


class AttachmentUpload(Model):
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
