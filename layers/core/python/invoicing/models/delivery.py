"""Wire models of sending an invoice (SPEC §5 `send`, §7)."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from invoicing.models.common import Email, Input, Phone, Version

MAX_RECIPIENTS = 10


class Recipients(Input):
    emails: Annotated[list[Email], Field(max_length=MAX_RECIPIENTS)] = []
    phones: Annotated[list[Phone], Field(max_length=MAX_RECIPIENTS, description="E.164, e.g. +33612345678")] = []


class SendRequest(Input):
    channels: Annotated[list[Literal["email", "sms"]], Field(min_length=1, max_length=2)] = ["email"]
    to: Recipients | None = Field(default=None, description="defaults to the customer's e-mail and phone")
    version: Version | None = Field(default=None, description="the draft version you read, when it is finalized")

    @field_validator("channels")
    @classmethod
    def _once_each(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            raise ValueError("name each channel once")
        return channels


class SenderIn(Input):
    email: Email = Field(description="the address the business's invoices should come from; a code is sent to it")


class SenderCode(Input):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the six digits e-mailed to the address")]
