"""Wire models of credit notes (avoirs, SPEC §6.1): what an issued invoice
is reduced by, as a numbered document of its own."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from invoicing.models.common import Input, Model, MoneyIn, Text
from invoicing.models.delivery import Delivery
from invoicing.models.invoices import InvoiceTotals, Lines


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
    def _lines_or_amount(self) -> CreditNoteIn:
        if (self.lines is None) == (self.amount is None):
            raise ValueError("give either lines or an amount")
        if self.lines is not None and not self.lines:
            raise ValueError("a credit note has at least one line")
        return self


class CreditNote(Model):
    model_config = ConfigDict(extra="allow")

    id: str
    number: str
    status: Literal["issued"]
    invoice_id: str
    invoice_number: str
    invoice_issue_date: date
    currency: str
    issue_date: date
    reason: str | None
    lines: list[dict[str, Any]]
    totals: InvoiceTotals
    total: str
    created_at: str


class CreditNoteDeliveries(Model):
    deliveries: list[Delivery] = Field(description="one per recipient and channel; the invoice lists them too")
