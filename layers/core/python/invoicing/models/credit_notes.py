"""Wire models of credit notes (avoirs, SPEC §6.1): what an issued invoice
is reduced by, as a numbered document of its own."""

from datetime import date, datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from invoicing.models.common import Amount, DiscountOut, Input, Model, MoneyIn, Output, Text
from invoicing.models.delivery import Delivery
from invoicing.models.invoices import InvoiceTotals, LineOut, Lines


class CreditNoteIn(Input):
    """Either the lines credited (an item returned, a price reduced), or an
    amount, tax included, shared over the invoice's VAT rates pro rata."""

    lines: Lines | None = Field(default=None, description="the lines credited, as an invoice's lines")
    amount: MoneyIn | None = Field(
        default=None,
        gt=0,
        description="tax included, shared over the invoice's VAT rates as the invoice shares its total",
    )
    reason: Text | None = Field(
        default=None, description="why, as the credit note says it", examples=["Article retourné"]
    )

    @model_validator(mode="after")
    def _lines_or_amount(self) -> Self:
        if (self.lines is None) == (self.amount is None):
            raise ValueError("give either lines or an amount")
        if self.lines is not None and not self.lines:
            raise ValueError("a credit note has at least one line")
        return self


class CreditNote(Output):
    id: str
    number: str = Field(description="from the credit notes' own series (AV-1, …)")
    status: Literal["issued"]
    invoice_id: str
    invoice_number: str
    invoice_issue_date: date
    currency: str
    issue_date: date
    reason: str | None
    lines: list[LineOut]
    discount: DiscountOut | None
    totals: InvoiceTotals
    total: Amount = Field(description="tax included: what the invoice asks less")
    seller: str = Field(description="the business's name, as the invoice was issued")
    customer_name: str = Field(description="the client's name, as the invoice was issued")
    created_at: datetime
    version: int


class CreditNoteDeliveries(Model):
    deliveries: list[Delivery] = Field(description="one per recipient and channel; the invoice lists them too")
