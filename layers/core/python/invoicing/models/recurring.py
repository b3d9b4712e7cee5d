"""Wire models of recurring invoices (SPEC §12): what each invoice is made
of (a template's content), for whom, when, and what happens once issued."""

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from invoicing.models.common import (
    Currency,
    Day,
    DiscountIn,
    Id,
    Input,
    Name,
    ReadBack,
    Text,
    Version,
)
from invoicing.models.delivery import SendRequest
from invoicing.models.settings import LateFees, PaymentMethods, Tips
from invoicing.models.templates import OffsetSchedule, TemplateLines

READ_ONLY = frozenset(
    {"id", "status", "next_dates", "invoices", "invoices_made", "last_failure", "created_at", "updated_at",
     "paused_at", "resumed_at", "cancelled_at", "completed_at", "line_count"}
)  # fmt: skip
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class EndIn(Input):
    """After `after` invoices, or on `until` (the last day one may be issued)."""

    after: Annotated[int, Field(ge=1, le=1000)] | None = None
    until: Day | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.after is None) == (self.until is None):
            raise ValueError("end: {after: n} or {until: date} (or end: null, never)")
        return self


class ScheduleIn(Input):
    frequency: Literal["week", "month", "year"]
    interval: Annotated[int, Field(ge=1, le=52, description="every `interval` weeks, months or years")] = 1
    day: Annotated[int, Field(ge=1, le=28)] | Literal["last"] | Weekday | None = Field(
        default=None,
        description='a day of the month (1–28 or "last") for months and years, a weekday for weeks; '
        "defaults to the start date's",
    )
    start_date: Day = Field(description="the first invoice is issued on the first day of the schedule from it")
    end: EndIn | None = Field(default=None, description="null: until cancelled")

    @field_validator("day", mode="before")
    @classmethod
    def _a_day(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= 28:
            raise ValueError('a day of the month from 1 to 28, or "last" (every month has them)')
        return value


class SendOnIssue(Input):
    send: SendRequest = Field(description="sent as soon as issued, on these channels (to the customer)")


OnIssue = Literal["mark_sent"] | SendOnIssue


class RecurringFields(ReadBack):
    """The invoice each occurrence makes, as a template holds it; every
    field optional so PATCH can share it."""

    read_only = READ_ONLY

    customer_id: Id | None = None
    template_id: Id | None = Field(
        default=None, description="the template whose content it copies when created (instead of lines)"
    )
    currency: Currency | None = None
    discount: DiscountIn | None = None
    notes: Text | None = None
    terms: Text | None = None
    late_fees: LateFees | None = None
    tips: Tips | None = None
    payment_methods: PaymentMethods | None = None
    payment_terms_days: Annotated[int, Field(ge=0, le=3650)] | None = Field(
        default=None, description="each invoice's due date, in days after its issue (default: the business's terms)"
    )
    payment_schedule: OffsetSchedule | None = None
    on_issue: OnIssue | None = Field(
        default=None, description='{"send": {"channels": [...]}} or "mark_sent" (the default)'
    )
    auto_charge: bool | None = Field(
        default=None, description="charge the customer's default saved payment method when issued"
    )


class RecurringIn(RecurringFields):
    name: Name
    customer_id: Id
    lines: TemplateLines = []
    schedule: ScheduleIn

    @model_validator(mode="after")
    def _content(self) -> Self:
        if self.template_id is not None and self.lines:
            raise ValueError("lines or template_id, not both")
        return self


class RecurringPatch(RecurringFields):
    name: Name | None = None
    lines: TemplateLines | None = None
    schedule: ScheduleIn | None = None
    version: Version | None = Field(default=None, description="required here or as If-Match")


class RecurringAction(Input):
    version: Version | None = Field(default=None, description="the version you read (or If-Match)")
