"""Wire models of sending an invoice (SPEC §5 `send`, §7)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from invoicing.models.common import Amount, Email, Input, Model, Output, Phone, Version

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


class ReminderRef(Output):
    key: str = Field(description="the deadline and the offset it reminds of: ins_2:-3, invoice:7")
    due_date: date
    offset: int = Field(description="days from the due date, negative before")


class ReceiptPayment(Output):
    """The payment a receipt acknowledges, and where it left the invoice."""

    id: str
    amount: Amount
    paid_at: date
    method: Literal["cash", "bank_transfer", "cheque", "card"]
    currency: str
    amount_due_after: Amount


class Delivery(Output):
    """One message to one recipient on one channel."""

    id: str
    kind: Literal["invoice", "receipt", "reminder", "credit_note"] = Field(
        description="the invoice itself; a receipt of a payment (or of the invoice paid); a payment reminder; "
        "one of its credit notes"
    )
    invoice_id: str
    invoice_version: int = Field(description="the version of the invoice the message carries")
    channel: Literal["email", "sms"]
    recipient: str
    status: Literal["pending", "sending", "sent", "failed"]
    provider_message_id: str | None = Field(description="SES's or SNS's id, once sent")
    error: str | None = Field(description="why it failed, or why it waits to be sent again")
    requested_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    credit_note_id: str | None = Field(default=None, description="the credit note a credit_note delivery carries")
    reminder: ReminderRef | None = Field(default=None, description="what a reminder reminds of")
    payment: ReceiptPayment | None = Field(default=None, description="the payment a receipt acknowledges")


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
