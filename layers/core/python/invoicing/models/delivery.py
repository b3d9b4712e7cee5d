"""Wire models of sending an invoice (SPEC §5 `send`, §7)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from invoicing.models.common import Email, Input, Model, Phone, Version

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


class Delivery(Model):
    id: str
    kind: Literal["invoice", "receipt"] = Field(
        default="invoice", description="the invoice itself, or the receipt e-mailed when it is paid"
    )
    channel: Literal["email", "sms"]
    recipient: str
    status: Literal["pending", "sending", "sent", "failed"]
    invoice_version: int
    provider_message_id: str | None = None
    error: str | None = None
    requested_at: str
    sent_at: str | None = None
    updated_at: str


class SenderIn(Input):
    email: Email = Field(description="the address the business's invoices should come from; a code is sent to it")


class SenderCode(Input):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the six digits e-mailed to the address")]


class Sender(Model):
    email: str | None = Field(description="the address the business proved it reads; None until one is confirmed")
    confirmed_at: str | None = None
    sending_from: str = Field(
        description="the From of the invoices' e-mails: the confirmed address, or the platform's (in the "
        "business's name, replies to the business) while there is none or another business confirmed it since"
    )
    ses_verified: bool | None = Field(
        default=None,
        description="whether SES verified the address (its owner follows the link SES e-mails once); while it "
        "has not, SES refuses it and each e-mail goes from the platform's address instead",
    )
    pending_email: str | None = Field(default=None, description="an address waiting for its code")
    code_expires_at: str | None = None
