"""Wire models of invoice templates (issue 4 §3): what an invoice is made of,
without its customer, dates, number or payments; its schedule as offsets
from the issue date."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from invoicing.models.common import (
    Amount,
    Currency,
    Day,
    DiscountIn,
    DiscountOut,
    Id,
    Input,
    MoneyIn,
    Name,
    Output,
    Page,
    ReadBack,
    TaxOut,
    Text,
    Version,
    patch_of,
)
from invoicing.models.invoices import Lines
from invoicing.models.settings import LateFees, LateFeesOut, PaymentMethods, Tips, TipsOut


class OffsetInstalment(Input):
    days_after_issue: Annotated[int, Field(ge=0, le=3650)]
    value: MoneyIn


class OffsetSchedule(Input):
    type: Literal["percentage", "fixed"]
    instalments: Annotated[list[OffsetInstalment], Field(min_length=1, max_length=24)]


class TemplateIn(ReadBack):
    name: Name
    currency: Currency | None = None
    lines: Lines = []
    discount: DiscountIn | None = None
    notes: Text | None = None
    terms: Text | None = None
    late_fees: LateFees | None = None
    tips: Tips | None = None
    payment_methods: PaymentMethods | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=3650)] | None = Field(
        default=None, description="the due date, in days after the issue date (default: the business's terms)"
    )
    payment_schedule: OffsetSchedule | None = None


TemplatePatch = patch_of(TemplateIn, "TemplatePatch")


class OffsetInstalmentOut(Output):
    days_after_issue: int
    value: Amount


class OffsetScheduleOut(Output):
    type: Literal["percentage", "fixed"]
    instalments: list[OffsetInstalmentOut]


class TemplateLineOut(Output):
    """A template's line: what it leaves out, the product it names gives when an invoice is made."""

    product_id: str | None
    name: str | None
    description: str | None
    quantity: Amount
    unit_price: Amount | None
    unit: str | None
    discount: DiscountOut | None
    taxes: list[TaxOut] | None


class Template(Output):
    id: str
    name: str
    currency: str | None
    lines: list[TemplateLineOut]
    discount: DiscountOut | None
    notes: str | None
    terms: str | None
    late_fees: LateFeesOut | None
    tips: TipsOut | None
    payment_methods: PaymentMethods | None
    payment_terms_days: int | None
    payment_schedule: OffsetScheduleOut | None
    version: Version
    created_at: datetime
    updated_at: datetime


class TemplatePage(Page[Template]):
    """A page of templates: follow `next_cursor` until it is null."""


class FromInvoice(Input):
    name: Name | None = Field(default=None, description="defaults to the invoice's name")


class InvoiceFromTemplate(Input):
    customer_id: Id
    name: Name | None = Field(default=None, description="defaults to the template's name, numbered if taken")
    issue_date: Day | None = Field(default=None, description="the schedule's offsets count from it (default: today)")
    due_date: Day | None = Field(default=None, description="defaults to issue date + the template's terms")
