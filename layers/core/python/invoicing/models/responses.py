"""What the API answers, as the OpenAPI document describes it: every
response model, in one module that no function imports.

Responses are built as dicts (logic/, documents/view.py); these models
document them, and the contract tests hold every response to its model
(a field a response carries that its model does not name is a failure).
Routes name their response models (`responses(200, "The invoice",
"Invoice")`); `api.http.openapi_document` reads them from here when it
writes the document. A function that loaded them would spend about 20 ms
of its cold start on 50 classes it never uses, and its first request
building the validators of its route's response models (Powertools makes
a field of each model a route declares).

The models follow the areas of the API: the common pieces, settings,
business and customers, deliveries, payments, invoices, credit notes,
templates (each area's models after those it uses).
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from invoicing.domain.connected_accounts import Status as StripeStatus
from invoicing.models.common import Address, Amount, Model, Output, Page, Version
from invoicing.models.invoices import ServicePeriod
from invoicing.models.resources import LegalForm, TradeRegister
from invoicing.models.settings import Frequency, PaymentMethods, Reminders

# The common pieces, and every error.


class Timestamps(Output):
    created_at: datetime
    updated_at: datetime


class FieldProblem(Model):
    field: str = Field(description="the field at fault, dotted: lines.3.discount.value; a header's name")
    message: str


class ErrorBody(Model):
    code: str = Field(description="what went wrong, for code: validation_error, not_found, stale_version, busy…")
    message: str = Field(description="what went wrong, for people")
    fields: list[FieldProblem] = Field(default=[], description="each field at fault (4xx of a bad input)")


class ErrorResponse(Model):
    """Every error the API answers, whatever its status."""

    error: ErrorBody


class Logo(Output):
    id: str
    content_type: Literal["image/png", "image/jpeg"]
    size: int
    uploaded_at: datetime


class DiscountOut(Output):
    type: Literal["percentage", "fixed"]
    value: Amount


class TaxOut(Output):
    name: str
    rate: Amount = Field(description="a percentage: 20, 5.5")
    inclusive: bool = Field(default=False, description="the price includes it")


# Settings: late fees, tips, payment schedules.


class LateFeesOut(Output):
    enabled: bool
    type: Literal["fixed", "percentage"]
    value: Amount = Field(description="a percentage of the balance, or a flat amount")
    frequency: Frequency
    grace_days: int
    max_fees: int | None = None


class TipsOut(Output):
    enabled: bool
    percentages: list[Amount] = Field(default=[], description="offered on the hosted page, when enabled")


class InstalmentOut(Output):
    id: str = Field(description="ins_1, ins_2, …: in schedule order")
    due_date: date
    value: Amount = Field(description="a percentage of the total, or an amount, as the schedule's type says")
    amount: Amount = Field(description="what it asks")
    amount_paid: Amount
    amount_due: Amount
    status: Literal["pending", "paid"]


class PaymentScheduleOut(Output):
    type: Literal["percentage", "fixed"]
    instalments: list[InstalmentOut]


# The business, customers, products.


class AccountingOut(Output):
    customers: str
    sales_services: str
    sales_goods: str
    vat_collected: str
    vat_collected_by_rate: dict[str, str]
    bank: str
    late_fees: str
    tips: str
    sales_journal: str
    bank_journal: str


class Business(Output):
    """The profile; until it is first saved, its defaults at version 0, without a name or timestamps."""

    accounting: AccountingOut

    id: str
    legal_name: str | None
    legal_form: LegalForm | None
    address: Address | None
    email: str | None
    phone: str | None
    siren: str | None
    vat_number: str | None
    share_capital: Amount | None
    trade_register: TradeRegister | None
    logo_url: str | None
    invoice_number_prefix: str
    credit_note_prefix: str
    estimate_prefix: str
    estimate_validity_days: int
    iban: str | None
    bic: str | None
    default_currency: str
    payment_terms_days: int
    default_terms: str | None
    default_notes: str | None
    late_fees: LateFeesOut | None
    reminders: Reminders
    early_payment_terms: str | None
    receipts: Literal["every_payment", "when_paid", "never"]
    save_payment_methods: bool
    locale: Literal["fr-FR", "en"]
    operations: Literal["goods", "services", "mixed"]
    vat_franchise: bool
    vat_on_debits: bool
    stripe_account_id: str | None = Field(
        description="the Stripe connected account the business's clients pay on: linked through Stripe's onboarding "
        "(POST /business/stripe/onboarding), read-only",
        json_schema_extra={"readOnly": True},
    )
    stripe_status: StripeStatus | None = Field(
        description="what Stripe says of the account: pending (onboarding not finished), active (takes payments), "
        "restricted (Stripe needs more from the business), unverified (an id typed in before accounts were linked "
        "through Stripe: no payment is taken on it; onboard to take them again); none without an account",
        json_schema_extra={"readOnly": True},
    )
    sender_email: str | None
    logo: Logo | None = Field(description="set with POST /business/logo, shown on the documents")
    version: Version
    created_at: datetime | None
    updated_at: datetime | None


class CustomerSnapshot(Output):
    """The client as an invoice was issued to it (its own copy, never changed since)."""

    id: str
    name: str
    kind: Literal["business", "individual"] = "business"
    email: str | None
    phone: str | None
    address: Address | None
    siren: str | None
    vat_number: str | None
    notes: str | None
    stripe_customer_id: str | None
    stripe_customer_account: str | None = Field(
        default=None,
        description="the Stripe account the Stripe customer lives on, once the system made or saw it there "
        "(a setup link, a saved card): read-only",
        json_schema_extra={"readOnly": True},
    )


class Customer(CustomerSnapshot):
    kind: Literal["business", "individual"]
    version: Version
    created_at: datetime
    updated_at: datetime


class CustomerPage(Page[Customer]):
    """A page of customers: follow `next_cursor` until it is null."""


class Product(Output):
    id: str
    name: str
    description: str | None
    unit_price: Amount
    currency: str
    unit: str | None
    taxes: list[TaxOut]
    version: Version
    created_at: datetime
    updated_at: datetime


class ProductPage(Page[Product]):
    """A page of products: follow `next_cursor` until it is null."""


class LogoUpload(Output):
    id: str = Field(description="send it to POST /business/logo/confirm once uploaded")
    content_type: str
    upload: dict[str, Any] = Field(description="{url, fields}: POST a multipart form, the fields then the file")
    expires_in: int


# Deliveries and the sender.


class ReminderRef(Output):
    key: str = Field(description="the deadline and the offset it reminds of: ins_2:-3, invoice:7")
    due_date: date
    offset: int = Field(description="days from the due date, negative before")


class ReceiptPayment(Output):
    """The payment a receipt acknowledges, and where it left the invoice."""

    id: str
    amount: Amount
    paid_at: date
    method: Literal["cash", "bank_transfer", "cheque", "card", "sepa_debit"]
    currency: str
    amount_due_after: Amount


class Delivery(Output):
    """One message to one recipient on one channel."""

    id: str
    kind: Literal["invoice", "receipt", "reminder", "credit_note", "estimate", "estimate_answer", "payment_failed"] = (
        Field(
            description="the invoice itself; a receipt of a payment (or of the invoice paid); a payment reminder; "
            "one of its credit notes; an estimate; the business told of its client's answer to an estimate; "
            "the client told that the invoice's automatic payment failed, to pay it on its page"
        )
    )
    invoice_id: str | None = Field(description="the invoice it is about (null: an estimate's)")
    estimate_id: str | None = Field(default=None, description="the estimate an estimate delivery carries")
    invoice_version: int = Field(description="the version of the invoice (or estimate) the message carries")
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


class StripeOnboarding(Model):
    url: str = Field(description="Stripe's onboarding of the business's account: send the business there, now")
    expires_at: datetime = Field(description="the link works once, until then (minutes): ask again for another")
    stripe_account_id: str = Field(description="the business's connected account, the same at every call")
    stripe_status: StripeStatus = Field(description="as on GET /business")


class PaymentMethodSetup(Model):
    id: str = Field(description="Stripe's Checkout Session (setup mode)")
    url: str = Field(description="Stripe's page where the client saves a card or an IBAN: send it to the client")
    expires_at: datetime = Field(description="the link works until then (a day): ask again for another")


class SavedPaymentMethod(Model):
    """A card or an IBAN the client saved with Stripe, on the business's account."""

    id: str = Field(description="Stripe's PaymentMethod id (pm_…)")
    type: Literal["card", "sepa_debit"]
    brand: str | None = Field(description="a card's: visa, mastercard, amex…")
    last4: str | None
    exp_month: int | None = Field(description="a card's")
    exp_year: int | None = Field(description="a card's")
    mandate: str | None = Field(description="a SEPA Direct Debit's mandate (Stripe's id): the client's authorisation")
    country: str | None
    default: bool = Field(description="the one automatic collections charge: exactly one while any is saved")
    created_at: datetime


class SavedPaymentMethodList(Model):
    items: list[SavedPaymentMethod]


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


# Payments.


class Payment(Output):
    id: str
    method: Literal["cash", "bank_transfer", "cheque", "card", "sepa_debit"] = Field(
        description="sepa_debit: a SEPA Direct Debit of a saved mandate (an automatic charge)"
    )
    amount: Amount = Field(description="what it paid toward the invoice (tip apart)")
    paid_at: date = Field(description="the day the money was received")
    instalment_id: str | None = Field(description="the instalment it was meant for, if one was named")
    source: Literal["manual", "stripe"] = Field(description="recorded by the business, or by Stripe's events")
    tip: Amount = Field(description="a tip paid with it, never part of the invoice's amounts")
    amount_refunded: Amount = Field(description="of the amount, what was refunded since: it is due again")
    status: Literal["succeeded", "cancelled"] = Field(description="cancelled: recorded by mistake, kept, owed again")
    recorded_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    notes: str | None = Field(default=None, description="cash")
    reference: str | None = Field(default=None, description="bank_transfer: the transfer's reference")
    cheque_number: str | None = Field(default=None, description="cheque")
    brand: str | None = Field(default=None, description="card")
    last4: str | None = Field(default=None, description="card")
    tip_refunded: Amount | None = Field(default=None, description="Stripe: of the tip, what was refunded")
    stripe_payment_intent: str | None = Field(default=None, description="Stripe: the PaymentIntent")
    stripe_amount_received: Amount | None = Field(default=None, description="Stripe: what it received, tip included")


class PaymentList(Model):
    items: list[Payment]
    next_cursor: str | None


class InvoicePosition(Output):
    """Where the invoice stands after the payment."""

    status: Literal["open", "partially_paid", "paid", "void"]
    amount_paid: Amount
    amount_due: Amount
    version: int


class PaymentRecorded(Payment):
    """`POST /invoices/{id}/payments`: the payment, and where the invoice stands after it."""

    invoice: InvoicePosition


# Invoices, their totals, PDFs and attachments.


class TaxAmountOut(Output):
    name: str
    rate: Amount
    base: Amount
    tax: Amount


class InvoiceTotals(Output):
    subtotal: Amount = Field(description="the lines' nets: Total HT")
    discount: Amount = Field(description="the invoice's discount: Remise")
    tax_breakdown: list[TaxAmountOut] = Field(description="per tax and rate: the base (Total HT net) and the tax")
    tax_total: Amount
    total: Amount = Field(description="Total TTC")


class TotalsOut(InvoiceTotals):
    """`POST /totals`: the totals, and each line's net for the preview."""

    line_nets: list[Amount]


class LineOut(Output):
    product_id: str | None = None
    name: str
    description: str | None = None
    quantity: Amount
    unit_price: Amount
    unit: str | None = None
    discount: DiscountOut | None = None
    taxes: list[TaxOut]
    net: Amount | None = Field(default=None, description="quantity × unit price less the line's discount (documents)")
    deposit_invoice_id: str | None = Field(
        default=None,
        description="a final invoice's system-made line deducting this deposit invoice: kept as made, whatever a "
        "PATCH sends",
    )


class BusinessSnapshot(Output):
    """The seller as the invoice was issued: its own copy, never changed since."""

    legal_name: str
    legal_form: str | None = None
    address: Address | None
    email: str | None
    phone: str | None
    siren: str | None
    vat_number: str | None
    share_capital: Amount | None = None
    trade_register: TradeRegister | None = None
    vat_on_debits: bool | None = None
    vat_franchise: bool | None
    logo_url: str | None
    logo: Logo | None
    locale: str | None
    early_payment_terms: str | None
    iban: str | None
    bic: str | None
    operations: Literal["goods", "services", "mixed"] | None


class LateFeeEntry(Output):
    period: date = Field(description="the day the period of lateness began: a fee per period, once")
    amount: Amount
    applied_on: date
    applied_at: datetime


class PaymentFailure(Output):
    """A payment Stripe said failed (a card declined, a debit returned)."""

    stripe_payment_intent: str
    event_id: str | None
    code: str | None
    message: str
    failed_at: datetime


class PaymentProcessing(Output):
    """A payment on its way: a SEPA Direct Debit takes days to succeed or fail."""

    stripe_payment_intent: str
    method: Literal["sepa_debit", "card"]
    amount: Amount = Field(description="what it will pay, when it succeeds")
    since: datetime


class CreditNoteRef(Output):
    """A credit note as its invoice lists it."""

    id: str
    number: str
    total: Amount
    issue_date: date


class Attachment(Output):
    """A confirmed attachment, as the invoice lists it."""

    id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: str


class PrecedingInvoice(Output):
    """A deposit invoice a final invoice deducts (EN 16931 BG-3)."""

    id: str
    number: str
    issue_date: date


class _InvoiceOut(Output):
    """What an invoice and its list entry both show."""

    id: str
    kind: Literal["standard", "deposit", "final"] = Field(
        description="a deposit invoice (facture d'acompte) or a final one (the balance of an estimate), else standard"
    )
    estimate_id: str | None = Field(default=None, description="the estimate it was made from")
    estimate_number: str | None = Field(default=None, description="that estimate's number")
    deposit_invoices: list[PrecedingInvoice] | None = Field(
        default=None, description="a final invoice's: the deposit invoices it deducts"
    )
    recurring_id: str | None = Field(default=None, description="the recurring invoice that issued it")
    name: str
    status: Literal["draft", "open", "partially_paid", "paid", "void"]
    number: str | None = Field(description="from its series at issue; null while a draft")
    customer_id: str | None
    currency: str
    issue_date: date | None
    due_date: date | None
    next_due_date: date | None = Field(
        description="when the next payment is due: the earliest unpaid instalment's, else the due date"
    )
    service_date: date | None
    service_period: ServicePeriod | None = Field(
        default=None, description="the period it bills, both days included (a recurring invoice's: always)"
    )
    purchase_order: str | None
    delivery_address: Address | None = None
    discount: DiscountOut | None
    late_fees: LateFeesOut | None
    tips: TipsOut | None
    payment_methods: PaymentMethods | None
    payment_schedule: PaymentScheduleOut | None
    reminders: Reminders | None = Field(default=None, description="as issued")
    totals: InvoiceTotals
    late_fees_total: Amount
    late_fee_entries: list[LateFeeEntry] | None = None
    amount_paid: Amount
    amount_due: Amount
    amount_overpaid: Amount | None = Field(default=None, description="received beyond what is due: to give back")
    credited: Amount = Field(description="what its credit notes took off")
    credit_notes: list[CreditNoteRef] = Field(description="its credit notes (avoirs), oldest first")
    attachments: list[Attachment] = Field(description="confirmed attachments, in upload order")
    payment_failures: list[PaymentFailure] | None = None
    payment_processing: PaymentProcessing | None = Field(
        default=None,
        description="a payment on its way (a SEPA Direct Debit): until it succeeds or fails, no late fee "
        "and no reminder; null once its payment is recorded or its failure is",
    )
    overdue: bool
    payment_link: str | None = Field(description="the hosted page where the client views and pays it")
    finalized_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    overdue_at: datetime | None = Field(
        default=None,
        description="when the daily sweep first found it unpaid after its next payment's due date (once: the "
        "webhooks' invoice.overdue); it stays once paid",
    )
    viewed_at: datetime | None = Field(default=None, description="the first time its client opened its hosted page")
    viewed_version: int | None = Field(default=None, description="the version whose hosted page was last opened")
    created_at: datetime
    updated_at: datetime
    version: int


class Invoice(_InvoiceOut):
    lines: list[LineOut]
    notes: str | None
    terms: str | None
    business: BusinessSnapshot | None = Field(default=None, description="the seller, as issued")
    customer: CustomerSnapshot | None = Field(default=None, description="the client, as issued")
    payments: list[Payment] = Field(description="oldest first, cancelled ones included")
    deliveries: list[Delivery] = Field(description="e-mails and SMS sent or to send, oldest first")


class InvoiceSummary(_InvoiceOut):
    """An invoice in a list: no lines, notes, terms, snapshots or payments."""

    customer_name: str | None
    line_count: int


class InvoicePage(Page[InvoiceSummary]):
    """A page of invoices: follow `next_cursor` until it is null."""


# Estimates (devis, SPEC §11).


class DepositOut(Output):
    type: Literal["percentage", "fixed"]
    value: Amount


class Acceptance(Output):
    """The client's "bon pour accord", as given on the estimate's page."""

    name: str = Field(description="the full name the client typed")
    accepted_at: datetime
    ip: str | None
    user_agent: str | None


class Decline(Output):
    reason: str | None
    declined_at: datetime
    ip: str | None
    user_agent: str | None


class EstimateInvoice(Output):
    """An invoice made from the estimate."""

    id: str
    kind: Literal["deposit", "final", "full"]
    number: str | None = Field(description="null while a draft (a final or full invoice is made as a draft)")
    issue_date: date | None
    total: Amount
    status: Literal["draft", "open", "partially_paid", "paid", "void"] = Field(
        description="as it stands (in a list of estimates: as it was made)"
    )


class _EstimateOut(Output):
    """What an estimate and its list entry both show."""

    id: str
    name: str
    status: Literal["draft", "sent", "accepted", "declined", "expired", "invoiced"]
    number: str | None = Field(description="from its own series (D-1, …) once sent; null while a draft")
    customer_id: str | None
    currency: str
    issue_date: date | None
    valid_until: date | None = Field(description="its last valid day")
    delivery_address: Address | None = None
    discount: DiscountOut | None
    deposit: DepositOut | None = Field(description="the deposit asked on acceptance")
    deposit_amount: Amount | None = Field(description="that deposit, tax included")
    totals: InvoiceTotals
    acceptance: Acceptance | None
    decline: Decline | None
    invoices: list[EstimateInvoice] = Field(description="the invoices made from it, oldest first")
    quote_link: str | None = Field(description="its public page, where the client accepts or declines it")
    sent_at: datetime | None = None
    expired_at: datetime | None = None
    invoiced_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class Estimate(_EstimateOut):
    lines: list[LineOut]
    notes: str | None
    terms: str | None
    business: BusinessSnapshot | None = Field(default=None, description="the seller, as sent")
    customer: CustomerSnapshot | None = Field(default=None, description="the client, as sent")
    deliveries: list[Delivery] = Field(description="e-mails and SMS sent or to send, oldest first")


class EstimateSummary(_EstimateOut):
    customer_name: str | None
    line_count: int


class EstimatePage(Page[EstimateSummary]):
    """A page of estimates: follow `next_cursor` until it is null."""


class PdfLink(Output):
    url: str = Field(description="pre-signed GET of the PDF")
    expires_in: int = Field(description="seconds")
    version: int = Field(description="the invoice version the PDF shows")


class PdfRendering(Output):
    status: Literal["rendering"]
    version: int = Field(description="the version being rendered")
    retry_after: int = Field(description="seconds to wait before asking again (also in Retry-After)")


class UploadForm(Output):
    url: str = Field(description="POST a multipart form here: `fields` first, then the file as `file`")
    fields: dict[str, str]


class AttachmentUpload(Output):
    """A reserved attachment: upload the file with `upload`, then confirm it."""

    id: str
    filename: str
    content_type: str
    size: int = Field(description="as declared; confirm measures the stored file")
    status: Literal["pending"]
    upload: UploadForm
    expires_in: int = Field(description="seconds the upload form stays valid")


class AttachmentList(Model):
    items: list[Attachment]


class AttachmentLink(Attachment):
    url: str = Field(description="pre-signed GET of the file")
    expires_in: int = Field(description="seconds")


# Credit notes.


class CreditNote(Output):
    id: str
    number: str = Field(description="from the credit notes' own series (AV-1, …)")
    status: Literal["issued"]
    invoice_id: str
    invoice_number: str
    invoice_issue_date: date
    currency: str
    issue_date: date
    reason: str | None
    lines: list[LineOut]
    discount: DiscountOut | None
    totals: InvoiceTotals
    total: Amount = Field(description="tax included: what the invoice asks less")
    seller: str = Field(description="the business's name, as the invoice was issued")
    customer_name: str = Field(description="the client's name, as the invoice was issued")
    created_at: datetime
    version: int


class CreditNoteDeliveries(Model):
    deliveries: list[Delivery] = Field(description="one per recipient and channel; the invoice lists them too")


# Templates.


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


# Stripe's webhook.


class WebhookReceipt(Model):
    received: bool
    outcome: str


# Recurring invoices (SPEC §12).


class RecurringInvoiceMade(Output):
    """An invoice a recurring invoice made."""

    id: str
    number: str | None
    issue_date: date | None
    service_period: ServicePeriod = Field(description="the period it bills")
    total: Amount
    status: Literal["draft", "open", "partially_paid", "paid", "void"] = Field(description="as it stands")
    amount_due: Amount | None


class ScheduleEndOut(Output):
    after: int | None = Field(default=None, description="the number of invoices it makes")
    until: date | None = Field(default=None, description="the last day one may be issued")


class ScheduleOut(Output):
    frequency: Literal["week", "month", "year"]
    interval: int
    day: int | str = Field(description='a day of the month (1–28, "last") or a weekday')
    start_date: date
    end: ScheduleEndOut | None = Field(description="null: until cancelled")


class SendOnIssueOut(Output):
    channels: list[Literal["email", "sms"]]
    to: dict[str, list[str]] | None = None
    version: int | None = None


class OnIssueSendOut(Output):
    send: SendOnIssueOut


class FailureField(Output):
    field: str
    message: str


class RecurringFailure(Output):
    """Why its last due invoice could not be issued (tried again each day)."""

    on: date = Field(description="the day it was tried")
    occurrence: date = Field(description="the date of the occurrence")
    message: str
    fields: list[FailureField]


class _RecurringOut(Output):
    """What a recurring invoice and its list entry both show."""

    id: str
    name: str
    status: Literal["active", "paused", "cancelled", "completed"]
    customer_id: str
    template_id: str | None = Field(description="the template its content was copied from")
    currency: str
    schedule: ScheduleOut
    on_issue: Literal["mark_sent"] | OnIssueSendOut
    auto_charge: bool = Field(description="each invoice charged to the customer's default saved payment method")
    next_dates: list[date] = Field(description="its next (at most 5) dates; none unless active")
    invoices_made: int
    last_failure: RecurringFailure | None
    paused_at: datetime | None = None
    resumed_at: datetime | None = None
    cancelled_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class RecurringInvoice(_RecurringOut):
    lines: list[TemplateLineOut]
    discount: DiscountOut | None = None
    notes: str | None = None
    terms: str | None = None
    late_fees: LateFeesOut | None = None
    tips: TipsOut | None = None
    payment_methods: PaymentMethods | None = None
    payment_terms_days: int | None = None
    payment_schedule: OffsetScheduleOut | None = None
    invoices: list[RecurringInvoiceMade] = Field(description="the latest invoices it made (at most 24), oldest first")


class RecurringInvoiceSummary(_RecurringOut):
    line_count: int


class RecurringInvoicePage(Page[RecurringInvoiceSummary]):
    """A page of recurring invoices: follow `next_cursor` until it is null."""


# Outgoing webhooks (SPEC §13).


class WebhookEndpoint(Output):
    id: str
    url: str
    events: list[str] = Field(description='the event types sent there; ["*"]: all of them')
    description: str | None
    status: Literal["enabled", "disabled"]
    failing_since: datetime | None = Field(description="every attempt since then failed; three days of it disable it")
    disabled_at: datetime | None
    disabled_reason: str | None
    secret_rotated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(
        description="whsec_…: signs every request (Standard Webhooks); shown in this response only, keep it",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookEndpointList(Page[WebhookEndpoint]):
    """The endpoints, ten at most: one page (`next_cursor` is null)."""


class WebhookDelivery(Output):
    id: str
    endpoint_id: str
    event_id: str = Field(description="the event's id, its webhook-id header: the same at every attempt")
    event_type: str
    status: Literal["pending", "delivered", "failed"] = Field(
        description="failed: three days of failures (or its endpoint deleted or disabled); it may be retried"
    )
    attempts: int
    last_status_code: int | None = Field(description="the endpoint's answer to the last attempt (None: no answer)")
    last_error: str | None = Field(description="why the last attempt failed, when no status code says it")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryPage(Page[WebhookDelivery]):
    """A page of deliveries, newest first: follow `next_cursor` until it is null."""


# Reports, statements and exports (SPEC §14): per currency, amounts never added across currencies.


class SummaryFigures(Output):
    currency: str
    issued: int = Field(description="invoices issued in the period (void ones included)")
    void: int
    paid: int
    overdue_count: int
    total_excluding_tax: Amount = Field(description="HT")
    tax: Amount = Field(description="TVA")
    total: Amount = Field(description="TTC")
    late_fees: Amount
    credited: Amount = Field(description="taken off by credit notes (voids included)")
    collected: Amount = Field(description="paid, refunds deducted")
    outstanding: Amount = Field(description="still due")
    overpaid: Amount = Field(description="paid beyond what was asked: owed back")
    overdue: Amount = Field(description="the part of `outstanding` past its due date")


class ReportSummary(Output):
    """The invoices issued in the period as they stand on `as_of`:
    total + late_fees = credited + collected + outstanding − overpaid."""

    from_: date = Field(alias="from")
    to: date
    as_of: date
    currencies: list[SummaryFigures]


class AgingBucket(Output):
    bucket: Literal["not_due", "1_30", "31_60", "61_90", "over_90"] = Field(description="days past due")
    amount: Amount
    count: int


class CustomerOwing(Output):
    customer_id: str | None
    customer_name: str | None
    amount: Amount
    overdue: Amount
    count: int
    oldest_due_date: date


class AgingFigures(Output):
    currency: str
    total: Amount
    count: int
    buckets: list[AgingBucket]
    top_customers: list[CustomerOwing] = Field(description="the ten owing most")


class AgingReport(Output):
    as_of: date
    currencies: list[AgingFigures]


class VatRate(Output):
    name: str | None = Field(description="the tax's name; null: lines without tax")
    rate: Amount
    base: Amount
    tax: Amount


class VatFigures(Output):
    currency: str
    rates: list[VatRate]
    base: Amount
    tax: Amount
    outside_vat: Amount | None = Field(
        default=None, description="collected basis: paid beyond the invoices' lines (late fees, overpayments)"
    )


class VatReport(Output):
    from_: date = Field(alias="from")
    to: date
    basis: Literal["invoiced", "collected"]
    currencies: list[VatFigures]


class Export(Output):
    id: str
    kind: Literal["invoices", "payments", "credit_notes", "fec"]
    format: Literal["csv", "csv-fr", "fec"]
    from_: date = Field(alias="from")
    to: date
    status: Literal["pending", "ready", "failed"]
    created_at: datetime
    rows: int = Field(description="lines written so far (a FEC: its entries' lines)")
    documents: int = Field(description="documents read so far")
    skipped: int = Field(description="a FEC: documents in another currency than the euro, left out")
    url: str | None = Field(description="ready: a pre-signed GET of the file, for `expires_in` seconds")
    expires_in: int | None = None
    filename: str | None = None
    size: int | None = Field(default=None, description="bytes")
    completed_at: datetime | None = None
    error: str | None = None


class StatementLine(Output):
    date: date
    type: Literal["invoice", "late_fee", "credit_note", "late_fees_voided", "payment"]
    number: str = Field(description="the invoice's number, a credit note's own")
    invoice_id: str
    invoice_number: str
    label: str
    debit: Amount
    credit: Amount
    balance: Amount = Field(description="after this line: owed by the customer (negative: owed to it)")


class StatementAccount(Output):
    currency: str
    opening_balance: Amount
    lines: list[StatementLine]
    total_debit: Amount
    total_credit: Amount
    closing_balance: Amount


class StatementCustomer(Output):
    id: str
    name: str | None
    email: str | None
    siren: str | None
    address: dict[str, Any] | None


class Statement(Output):
    customer: StatementCustomer
    from_: date = Field(alias="from")
    to: date
    as_of: date
    currencies: list[StatementAccount]


class StatementPdf(Output):
    url: str = Field(description="pre-signed GET of the PDF")
    expires_in: int = Field(description="seconds")
