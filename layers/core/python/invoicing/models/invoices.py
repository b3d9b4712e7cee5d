"""Wire models of invoices and of the totals preview (SPEC §6.1)."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from invoicing.models.common import (
    MAX_LINES,
    Address,
    Currency,
    Day,
    DiscountIn,
    Id,
    Input,
    Name,
    Quantity,
    ReadBack,
    ShortText,
    Taxes,
    Text,
    Version,
    visible,
)
from invoicing.models.settings import (
    LateFees,
    PaymentMethods,
    PaymentSchedule,
    Tips,
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
        # made by the system, shown as read
        "kind",
        "estimate_id",
        "estimate_number",
        "deposit_invoices",
        "recurring_id",
        "reminders",
        "late_fee_entries",
        "amount_overpaid",
        "payment_failures",
        "payment_processing",
        "paid_at",
        "overdue_at",
        "viewed_at",
        "viewed_version",
    }
)


class _IgnoresReadOnly(ReadBack):
    read_only = READ_ONLY


# A line's price: negative only on a final invoice's deposit deduction (`Lines` checks it).
LinePrice = Annotated[
    Decimal, Field(ge=-1_000_000_000_000, le=1_000_000_000_000, decimal_places=6, allow_inf_nan=False)
]


class LineIn(ReadBack):
    read_only = frozenset({"net"})

    product_id: Id | None = None
    name: Name | None = Field(default=None, description="defaults to the product's name")
    description: Text | None = None
    quantity: Quantity = Decimal(1)
    unit_price: LinePrice | None = Field(
        default=None, description="defaults to the product's price; negative only on a deposit deduction"
    )
    unit: ShortText | None = None
    discount: DiscountIn | None = None
    taxes: Taxes | None = Field(default=None, description="defaults to the product's taxes")
    deposit_invoice_id: Id | None = Field(
        default=None,
        description="set by the server on a final invoice's deposit deductions (one a deposit invoice and VAT "
        "rate): such a line stays outside the invoice discount; sent back as read, POST /totals previews the "
        "final invoice as it is stored",
    )


def deductions_only_below_zero(lines: list[LineIn]) -> list[LineIn]:
    """A price is never negative, but on the deposit deductions the server
    makes on a final invoice. Checked over the list, not line by line: a
    validator a line costs the editor's 1,000-line keystroke a call a line."""
    for i, line in enumerate(lines):
        price = line.unit_price
        if price is not None and price < 0 and line.deposit_invoice_id is None:
            raise ValueError(f"lines.{i}.unit_price is below 0: only a deposit deduction's price is negative")
    return lines


Lines = Annotated[
    list[LineIn],
    Field(max_length=MAX_LINES, description=f"at most {MAX_LINES} lines"),
    AfterValidator(deductions_only_below_zero),
]


class ServicePeriod(Input):
    """The period an invoice bills (EN 16931 BG-14, the invoicing period):
    from `start` to `end`, both days included (a recurring invoice's)."""

    start: Day = Field(description="its first day (BT-73)")
    end: Day = Field(description="its last day, on or after the first (BT-74)")

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")  # absent when it was refused: its own error says why
        if start is not None and end < start:
            raise ValueError(f"before the period's start ({start}): a period ends on or after the day it starts")
        return end


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
    service_period: ServicePeriod | None = Field(
        default=None,
        description="the period the invoice bills (a subscription's month): printed, and in its Factur-X data",
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


Filename = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f\x7f]+$",
        description="the file's name as the client will see it, without folders",
        examples=["bon-de-commande.pdf"],
    ),
    AfterValidator(visible),
]


class AttachmentIn(Input):
    filename: Filename
    content_type: Annotated[
        str, Field(max_length=255, examples=["application/pdf"], description="PDF, PNG, JPEG, GIF, WebP or office")
    ]
    size: Annotated[int, Field(ge=1, description="bytes; at most 20 MiB (20,971,520)")]
