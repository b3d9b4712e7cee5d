"""Wire models of invoice templates (issue 4 §3): what an invoice is made of,
without its customer, dates, number or payments; its schedule as offsets
from the issue date."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic.json_schema import SkipJsonSchema

from invoicing.models.common import (
    Currency,
    Day,
    DiscountIn,
    Id,
    Input,
    MoneyIn,
    Name,
    ReadBack,
    Text,
    patch_of,
)
from invoicing.models.invoices import MAX_LINES, LineIn, deductions_only_below_zero
from invoicing.models.settings import LateFees, PaymentMethods, Tips


class TemplateLineIn(LineIn):
    """A template's line: an invoice's, never a final invoice's deposit
    deduction (those name deposit invoices of one estimate alone): the field
    sent back as read is ignored, and never kept."""

    read_only = frozenset({"net", "deposit_invoice_id"})

    deposit_invoice_id: SkipJsonSchema[None] = Field(default=None, exclude=True)


TemplateLines = Annotated[
    list[TemplateLineIn],
    Field(max_length=MAX_LINES, description=f"at most {MAX_LINES} lines"),
    AfterValidator(deductions_only_below_zero),
]


class OffsetInstalment(Input):
    days_after_issue: Annotated[int, Field(ge=0, le=3650)]
    value: MoneyIn


class OffsetSchedule(Input):
    type: Literal["percentage", "fixed"]
    instalments: Annotated[list[OffsetInstalment], Field(min_length=1, max_length=24)]


class TemplateIn(ReadBack):
    name: Name
    currency: Currency | None = None
    lines: TemplateLines = []
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


class FromInvoice(Input):
    name: Name | None = Field(default=None, description="defaults to the invoice's name")


class InvoiceFromTemplate(Input):
    customer_id: Id
    name: Name | None = Field(default=None, description="defaults to the template's name, numbered if taken")
    issue_date: Day | None = Field(default=None, description="the schedule's offsets count from it (default: today)")
    due_date: Day | None = Field(default=None, description="defaults to issue date + the template's terms")
