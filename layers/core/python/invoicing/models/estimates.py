"""Wire models of estimates (devis) and of their conversion into invoices (SPEC §11)."""

from typing import Literal, Self

from pydantic import Field, model_validator

from invoicing.models.common import (
    Address,
    Currency,
    Day,
    DiscountIn,
    Id,
    Input,
    MoneyIn,
    Name,
    ReadBack,
    Text,
    Version,
)
from invoicing.models.invoices import Lines

# Computed or server-owned: sent back as read, ignored (as an invoice's).
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "number",
        "totals",
        "deposit_amount",
        "business",
        "customer",
        "created_at",
        "updated_at",
        "sent_at",
        "acceptance",
        "decline",
        "expired_at",
        "invoiced_at",
        "invoices",
        "quote_link",
        "deliveries",
    }
)


class DepositIn(Input):
    """The deposit asked on acceptance: a percentage of the total tax
    included, or an amount tax included."""

    type: Literal["percentage", "fixed"]
    value: MoneyIn

    @model_validator(mode="after")
    def _a_part_of_the_total(self) -> Self:
        if self.value <= 0:
            raise ValueError("a deposit asks more than nothing (or send deposit: null)")
        if self.type == "percentage" and self.value > 100:
            raise ValueError("a percentage deposit is at most 100")
        return self


class EstimateFields(ReadBack):
    """What a draft estimate is made of; every field optional so PATCH can share it."""

    read_only = READ_ONLY

    customer_id: Id | None = None
    currency: Currency | None = Field(default=None, description="defaults to the business currency")
    issue_date: Day | None = Field(default=None, description="defaults to the day it is sent")
    valid_until: Day | None = Field(
        default=None, description="its last valid day; defaults to issue date + the business's estimate_validity_days"
    )
    delivery_address: Address | None = None
    discount: DiscountIn | None = None
    deposit: DepositIn | None = Field(default=None, description="the deposit asked on acceptance, or null")
    notes: Text | None = None
    terms: Text | None = None


class EstimateIn(EstimateFields):
    name: Name
    lines: Lines = []


class EstimatePatch(EstimateFields):
    name: Name | None = None
    lines: Lines | None = None
    version: Version | None = Field(default=None, description="required here or as If-Match")


class EstimateInvoiceIn(Input):
    """Which invoice to make from an accepted estimate."""

    kind: Literal["deposit", "final", "full"] = Field(
        description="deposit: an issued deposit invoice (the deposit asked, or `amount`); final: the draft of "
        "the balance, less the deposit invoices; full: a draft invoice of the whole (no deposit)"
    )
    amount: MoneyIn | None = Field(
        default=None, description="deposit only: the amount tax included, instead of the deposit the estimate asks"
    )

    @model_validator(mode="after")
    def _amount_of_a_deposit(self) -> Self:
        if self.amount is not None and self.kind != "deposit":
            raise ValueError("amount is a deposit invoice's only")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("a deposit of nothing is no deposit")
        return self
