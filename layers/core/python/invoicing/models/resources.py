"""Wire models of the business profile, customers and products."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from invoicing.models.common import (
    Address,
    Bic,
    Currency,
    Email,
    Iban,
    Input,
    Name,
    Output,
    Phone,
    Price,
    ShortText,
    Siren,
    Taxes,
    Text,
    Timestamps,
    VatNumber,
    Version,
    patch_of,
)
from invoicing.models.settings import LateFees, Reminders


def _prefix(value: str) -> str:
    """A prefix ending in a digit makes numbers ambiguous: A1 + 1 and A + 11
    are both A11. Ending in a letter or a separator, every number reads back
    as one prefix and one sequence."""
    if value[-1:].isdigit():
        raise ValueError("must not end with a digit: end it with a letter or a separator, e.g. F2026-")
    return value


Prefix = Annotated[
    str,
    Field(
        max_length=20,
        # what the reform's numbers may hold (French CTC BR-FR-02: letters, digits, + - _ /)
        pattern=r"^[A-Za-z0-9_/+-]*$",
        description="Prepended to the sequence: INV- gives INV-1, INV-2, …; letters, digits and + - _ / "
        "(e-invoicing rule BR-FR-02); must not end with a digit",
    ),
    AfterValidator(_prefix),
]


class BusinessIn(Input):
    legal_name: Name
    address: Address | None = None
    email: Email | None = None
    phone: Phone | None = None
    siren: Siren | None = None
    vat_number: VatNumber | None = None
    logo_url: Annotated[str, Field(max_length=2048, pattern=r"^https://")] | None = None
    invoice_number_prefix: Prefix = "INV-"
    credit_note_prefix: Prefix = Field(
        default="AV-", validate_default=True, description="credit notes (avoirs) are numbered apart: AV-1, …"
    )
    iban: Iban | None = Field(default=None, description="where clients pay by transfer: printed on invoices")
    bic: Bic | None = None
    default_currency: Currency = "EUR"
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] = 30
    default_terms: Text | None = None
    default_notes: Text | None = None
    late_fees: LateFees | None = None
    reminders: Reminders = Field(
        default_factory=Reminders,
        description="reminders of the invoices issued from now on (each keeps the settings it was issued with)",
    )
    early_payment_terms: (
        Annotated[
            str,
            Field(
                max_length=500,
                description="the early-payment discount (escompte) granted, as the invoice states it; "
                "without it invoices say there is none",
                examples=["Escompte de 2 % pour paiement sous 10 jours."],
            ),
        ]
        | None
    ) = None
    locale: Literal["fr-FR", "en"] = "fr-FR"
    operations: Literal["goods", "services", "mixed"] = Field(
        default="services",
        description="what the business sells: goods, services or both (a mandatory mention from the 2026 reform; "
        "the Factur-X business process)",
    )
    vat_franchise: bool = Field(
        default=False, description='franchise en base: no VAT, "TVA non applicable, art. 293 B du CGI"'
    )
    stripe_account_id: (
        Annotated[
            str,
            Field(
                pattern=r"^acct_[A-Za-z0-9]{1,255}$",
                description="the business's Stripe connected account: its clients pay it there (card, bank transfer)",
                examples=["acct_1Nv0FGQ9RKHgCVdK"],
            ),
        ]
        | None
    ) = None
    sender_email: Email | None = Field(
        default=None,
        description="where clients' replies go (Reply-To); the e-mails' From is set with POST /business/sender",
    )
    version: Version | None = Field(default=None, description="the version you read; omit to overwrite")

    @field_validator("credit_note_prefix")
    @classmethod
    def _two_series(cls, value: str, info: ValidationInfo) -> str:
        """A number names one document: the two series cannot share a prefix."""
        if value.casefold() == str(info.data.get("invoice_number_prefix", "")).casefold():
            raise ValueError("must differ from invoice_number_prefix: a number names one document")
        return value


class Logo(Output):
    id: str
    content_type: str
    size: int
    uploaded_at: str


class Business(BusinessIn, Timestamps):
    """The profile; until it is first saved, its defaults at version 0, without a name or timestamps."""

    model_config = ConfigDict(extra="allow")
    legal_name: str | None  # type: ignore[assignment]
    created_at: datetime | None  # type: ignore[assignment]
    updated_at: datetime | None  # type: ignore[assignment]
    version: Version  # type: ignore[assignment]
    logo: Logo | None = Field(default=None, description="set with POST /business/logo, shown on the documents")


class CustomerIn(Input):
    name: Name
    kind: Literal["business", "individual"] = Field(
        default="business", description="business clients get the 40 € recovery indemnity mention"
    )
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    siren: Siren | None = None
    vat_number: VatNumber | None = None
    notes: Text | None = None
    stripe_customer_id: (
        Annotated[
            str,
            Field(
                pattern=r"^cus_[A-Za-z0-9]{1,250}$",
                description="the client as a Stripe customer of the business's connected account: its saved "
                "cards can be charged (payment_method_id), and the hosted page's payments are made in its name",
            ),
        ]
        | None
    ) = None


CustomerPatch = patch_of(CustomerIn, "CustomerPatch")


class Customer(CustomerIn, Timestamps):
    model_config = ConfigDict(extra="allow")
    id: str
    version: Version


class ProductIn(Input):
    name: Name
    description: Text | None = None
    unit_price: Price
    currency: Currency = "EUR"
    unit: ShortText | None = None
    taxes: Taxes = []


ProductPatch = patch_of(ProductIn, "ProductPatch")


class Product(Output):
    id: str
    name: str
    description: str | None = None
    unit_price: str
    currency: str
    unit: str | None = None
    taxes: list[dict[str, object]]
    version: Version


class LogoIn(Input):
    content_type: Literal["image/png", "image/jpeg"]
    size: Annotated[int, Field(ge=1, description="bytes; at most 512 KiB (524,288)")]


class LogoConfirm(Input):
    id: Annotated[str, Field(pattern=r"^logo_[0-9A-Z]{26}$", description="the id the upload form came with")]


class LogoUpload(Output):
    id: str = Field(description="send it to POST /business/logo/confirm once uploaded")
    content_type: str
    upload: dict[str, Any] = Field(description="{url, fields}: POST a multipart form, the fields then the file")
    expires_in: int
