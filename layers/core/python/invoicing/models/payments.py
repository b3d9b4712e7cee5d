"""Wire models of payments (SPEC §5 `payments`, §6): one shape per method,
told apart by `method`."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from invoicing.models.common import UNION_TAGS, Day, Id, Input, MoneyIn, ShortText, Text

PositiveAmount = Annotated[MoneyIn, Field(gt=0, description="in the invoice's currency, e.g. 250.00")]


class _PaymentIn(Input):
    amount: PositiveAmount
    paid_at: Day | None = Field(default=None, description="the day the money was received; defaults to today")
    instalment_id: Id | None = Field(
        default=None, description="the instalment it pays (ins_1, ins_2, …); defaults to the earliest unpaid"
    )


class CashPayment(_PaymentIn):
    method: Literal["cash"]
    notes: Text | None = None


class BankTransferPayment(_PaymentIn):
    method: Literal["bank_transfer"]
    reference: ShortText | None = Field(default=None, description="the transfer's reference, as the bank shows it")


class ChequePayment(_PaymentIn):
    method: Literal["cheque"]
    cheque_number: Annotated[str, Field(min_length=1, max_length=40)]


class CardPayment(_PaymentIn):
    method: Literal["card"]
    brand: Annotated[str, Field(max_length=40, examples=["visa"])] | None = None
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    payment_method_id: (
        Annotated[
            str,
            Field(
                pattern=r"^pm_[A-Za-z0-9_]{1,250}$",
                description="a card the client saved with Stripe: it is charged now, off-session; without it, "
                "the payment records a card charged elsewhere",
            ),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _charged_or_recorded(self) -> Self:
        if self.payment_method_id and (self.brand or self.last4):
            raise ValueError("a saved card (payment_method_id) brings its own brand and last4: send neither")
        return self


PaymentIn = Annotated[CashPayment | BankTransferPayment | ChequePayment | CardPayment, Field(discriminator="method")]
UNION_TAGS.update(("cash", "bank_transfer", "cheque", "card"))


class PaymentCancel(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500, examples=["Chèque revenu impayé"])] = Field(
        description="why the payment is cancelled, kept with it"
    )
