"""Wire models of the payment methods a client saves (SPEC §12)."""

from typing import Annotated

from pydantic import Field, field_validator

from invoicing.models.common import Input

TYPES = ("card", "sepa_debit")  # what Stripe's setup page can save here (logic.payment_methods.TYPES)


class PaymentMethodSetupIn(Input):
    types: list[str] = Field(
        default=["card"],
        description="what the client may save: card, sepa_debit (an IBAN, with its SEPA mandate), or both",
        examples=[["card", "sepa_debit"]],
    )
    return_url: Annotated[str, Field(max_length=2048)] | None = Field(
        default=None,
        description="where Stripe sends the client once it saved one (or gave up): a URL of the frontend's "
        "origins; by default the frontend's, with ?payment_method_setup=done or =cancelled",
    )

    @field_validator("types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        """One error naming `types`, whatever the entry at fault."""
        unknown = [item for item in value if item not in TYPES]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"one or both of {', '.join(TYPES)}, each once (not {', '.join(unknown) or value})")
        return value
