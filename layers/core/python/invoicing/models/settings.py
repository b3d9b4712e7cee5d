"""Invoice settings shared by the business defaults and each invoice:
late fees, tips, payment methods and the payment schedule (SPEC §6)."""

from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from invoicing.models.common import Day, Input, MoneyIn, Percentage


class Frequency(Input):
    interval: Literal["once", "day", "week", "month"]
    interval_count: Annotated[int, Field(ge=1, le=365)] = 1


class LateFees(Input):
    enabled: bool = False
    type: Literal["fixed", "percentage"] = "percentage"
    value: Annotated[MoneyIn, Field(description="a percentage of the balance, or a flat amount")] = Decimal(0)
    frequency: Frequency = Frequency(interval="month")
    grace_days: Annotated[int, Field(ge=0, le=365)] = 0
    max_fees: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _percentage_at_most_100(self) -> Self:
        if self.type == "percentage" and self.value > 100:
            raise ValueError("a percentage late fee is at most 100")
        return self


class Reminders(Input):
    """Payment reminders, before and after each instalment's due date (the
    invoice's, without a schedule): days from it, negative before."""

    enabled: bool = True
    offsets: Annotated[list[Annotated[int, Field(ge=-60, le=90)]], Field(min_length=1, max_length=6)] = [-3, 0, 7]
    channels: Annotated[list[Literal["email", "sms"]], Field(min_length=1, max_length=2)] = ["email"]

    @model_validator(mode="after")
    def _once_each(self) -> Self:
        if len(set(self.offsets)) != len(self.offsets) or len(set(self.channels)) != len(self.channels):
            raise ValueError("name each offset and each channel once")
        return self


class Tips(Input):
    enabled: bool = False
    percentages: Annotated[list[Percentage], Field(max_length=5)] = [Decimal(5), Decimal(10), Decimal(15)]


# A number of the French chart of accounts (PCG): its first three characters digits (the FEC requires it).
AccountNumber = Annotated[str, Field(pattern=r"^[0-9]{3}[0-9A-Za-z]{0,17}$", examples=["411000"])]
JournalCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{1,8}$", examples=["VT"])]
RateKey = Annotated[str, Field(pattern=r"^[0-9]{1,2}(\.[0-9]{1,2})?$", examples=["20", "5.5"])]


class Accounting(Input):
    """The accounts the accountant's files use (SPEC §14, the FEC)."""

    customers: AccountNumber = Field(default="411000", description="clients (each customer an auxiliary account)")
    sales_services: AccountNumber = Field(default="706000", description="prestations de services")
    sales_goods: AccountNumber = Field(default="707000", description="ventes de marchandises (operations goods)")
    vat_collected: AccountNumber = Field(default="445710", description="TVA collectée")
    vat_collected_by_rate: Annotated[dict[RateKey, AccountNumber], Field(max_length=10)] = Field(
        default_factory=dict, description='a VAT account per rate, e.g. {"20": "44571200"}; else vat_collected'
    )
    bank: AccountNumber = Field(default="512000", description="banque: where payments arrive")
    late_fees: AccountNumber = Field(
        default="763100", description="late fees (and overpayments) collected beyond the invoices' totals"
    )
    tips: AccountNumber = Field(default="758000", description="tips clients add when paying online")
    sales_journal: JournalCode = "VT"
    bank_journal: JournalCode = "BQ"

    @field_validator("vat_collected_by_rate")
    @classmethod
    def _rates_as_written(cls, accounts: dict[str, str]) -> dict[str, str]:
        """A rate as documents write it ("5.50" and "5.5" are one rate: "5.5")."""
        from invoicing.domain.money import format_rate

        return {format_rate(Decimal(rate)): account for rate, account in accounts.items()}


class PaymentMethods(Input):
    card: bool = True
    bank_transfer: bool = True


class Instalment(Input):
    due_date: Day
    value: MoneyIn

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        """What a response adds to an instalment, sent back, is ignored."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _COMPUTED}
        return data


_COMPUTED = frozenset({"id", "amount", "amount_paid", "amount_due", "status"})


class PaymentSchedule(Input):
    type: Literal["percentage", "fixed"]
    instalments: Annotated[list[Instalment], Field(min_length=1, max_length=24)]


# -- as responses show them: amounts and rates as decimal strings ---------------------------
