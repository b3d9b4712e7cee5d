"""Wire models of credit notes (avoirs, SPEC §6.1): what an issued invoice
is reduced by, as a numbered document of its own."""

from typing import Self

from pydantic import Field, model_validator

from invoicing.models.common import Input, MoneyIn, Text
from invoicing.models.invoices import Lines


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
