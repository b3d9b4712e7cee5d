"""Wire models of the business profile, customers and products."""

from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from invoicing.models.common import (
    Address,
    Bic,
    Currency,
    Email,
    Iban,
    Input,
    MoneyIn,
    Name,
    Phone,
    Price,
    ReadBack,
    ShortText,
    Siren,
    Taxes,
    Text,
    VatNumber,
    Version,
    one_line,
    patch_of,
    visible,
)
from invoicing.models.settings import Accounting, LateFees, Reminders


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


LegalForm = Literal[
    "EI", "EURL", "SARL", "SAS", "SASU", "SA", "SNC", "SCS", "SCA", "SCI", "SCOP", "SCP",
    "SELARL", "SELAS", "SELAFA", "SELCA", "GIE", "association",
]  # fmt: skip
# Who has a share capital (a company); an EI or an association has none.
COMPANY_FORMS = frozenset(get_args(LegalForm)) - {"EI", "association"}


class TradeRegister(Input):
    """Where the business is registered: printed "RCS Paris 732 829 320"."""

    kind: Literal["RCS", "RM"] = Field(
        description="RCS: registre du commerce et des sociétés; RM: répertoire des métiers (artisans)"
    )
    city: Annotated[
        str, Field(min_length=1, max_length=80, examples=["Paris"]), AfterValidator(one_line), AfterValidator(visible)
    ] = Field(description="the registry's city (the greffe, or the chambre de métiers)")


class BusinessIn(ReadBack):
    """The issuer profile, whole (PUT replaces it; PATCH changes the fields it sends)."""

    read_only = ReadBack.read_only | {"logo", "stripe_status"}

    legal_name: Name
    legal_form: LegalForm | None = Field(
        default=None, description='printed after the name ("Acme SAS"); an individual entrepreneur\'s is "EI"'
    )
    address: Address | None = None
    email: Email | None = None
    phone: Phone | None = None
    siren: Siren | None = None
    vat_number: VatNumber | None = None
    share_capital: (
        Annotated[MoneyIn, Field(description='in euros, a company\'s (SAS, SARL…): printed "au capital de 10 000 €"')]
        | None
    ) = None
    trade_register: TradeRegister | None = Field(
        default=None, description='printed with the SIREN: "RCS Paris 732 829 320"; needs the siren'
    )
    logo_url: Annotated[str, Field(max_length=2048, pattern=r"^https://")] | None = None
    invoice_number_prefix: Prefix = "INV-"
    credit_note_prefix: Prefix = Field(
        default="AV-", validate_default=True, description="credit notes (avoirs) are numbered apart: AV-1, …"
    )
    estimate_prefix: Prefix = Field(
        default="D-", validate_default=True, description="estimates (devis) are numbered apart: D-1, …"
    )
    estimate_validity_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=30, description="how long an estimate stands when it does not say (valid_until = issue date + this)"
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
    receipts: Literal["every_payment", "when_paid", "never"] = Field(
        default="every_payment",
        description="when the client is e-mailed a receipt: after every payment (partial ones say what is still "
        "due), once the invoice is paid, or never",
    )
    save_payment_methods: bool = Field(
        default=False,
        description="the hosted invoice page offers the client to save the card it pays with for the business's "
        'later invoices ("Enregistrer ma carte pour les prochaines factures"): automatic collection (SPEC §12)',
    )
    locale: Literal["fr-FR", "en"] = "fr-FR"
    operations: Literal["goods", "services", "mixed"] = Field(
        default="services",
        description="what the business sells: goods, services or both (a mandatory mention from the 2026 reform; "
        "the Factur-X business process)",
    )
    vat_franchise: bool = Field(
        default=False, description='franchise en base: no VAT, "TVA non applicable, art. 293 B du CGI"'
    )
    vat_on_debits: bool = Field(
        default=False,
        description="the business pays VAT on its services when it invoices them (option pour les débits): "
        'services invoices say "Option pour le paiement de la taxe d\'après les débits"',
    )
    stripe_account_id: (
        Annotated[str, Field(pattern=r"^acct_[A-Za-z0-9]{1,255}$", examples=["acct_1Nv0FGQ9RKHgCVdK"])] | None
    ) = Field(
        default=None,
        description="read-only: the business's Stripe connected account, linked through Stripe's onboarding "
        "(POST /business/stripe/onboarding); sent back as read it is ignored, another value is refused (422)",
        json_schema_extra={"readOnly": True},
    )
    sender_email: Email | None = Field(
        default=None,
        description="where clients' replies go (Reply-To); the e-mails' From is set with POST /business/sender",
    )
    accounting: Accounting = Field(
        default_factory=Accounting, description="the accounts of the accountant's files (the FEC export)"
    )
    version: Version | None = Field(
        default=None, description="the version you read (or If-Match): required once the profile exists"
    )

    @field_validator("share_capital")
    @classmethod
    def _a_company_s(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("legal_form") not in COMPANY_FORMS:
            raise ValueError("only a company (legal_form SAS, SARL…) has a share capital")
        return value

    @field_validator("trade_register")
    @classmethod
    def _with_the_siren(cls, value: TradeRegister | None, info: ValidationInfo) -> TradeRegister | None:
        if value is not None and not info.data.get("siren"):
            raise ValueError("the registration is printed with the SIREN: set siren")
        return value

    @field_validator("vat_on_debits")
    @classmethod
    def _charging_vat(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("vat_franchise"):
            raise ValueError("a business under franchise en base (vat_franchise) charges no VAT")
        return value

    @field_validator("credit_note_prefix")
    @classmethod
    def _two_series(cls, value: str, info: ValidationInfo) -> str:
        """A number names one document: the two series cannot share a prefix."""
        if value.casefold() == str(info.data.get("invoice_number_prefix", "")).casefold():
            raise ValueError("must differ from invoice_number_prefix: a number names one document")
        return value

    @field_validator("estimate_prefix")
    @classmethod
    def _three_series(cls, value: str, info: ValidationInfo) -> str:
        """Estimates are numbered apart from invoices and credit notes: no prefix shared."""
        taken = {str(info.data.get(key, "")).casefold() for key in ("invoice_number_prefix", "credit_note_prefix")}
        if value.casefold() in taken:
            raise ValueError(
                "must differ from invoice_number_prefix and credit_note_prefix: a number names one document"
            )
        return value


BusinessPatch = patch_of(BusinessIn, "BusinessPatch")


class CustomerIn(ReadBack):
    read_only = ReadBack.read_only | {"stripe_customer_account"}  # the system's: where stripe_customer_id lives

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


class ProductIn(ReadBack):
    name: Name
    description: Text | None = None
    unit_price: Price
    currency: Currency = "EUR"
    unit: ShortText | None = None
    taxes: Taxes = []


ProductPatch = patch_of(ProductIn, "ProductPatch")


class StripeOnboardingIn(Input):
    """Where Stripe sends the business back from its onboarding: pages of the
    frontend (one of its origins); by default its first origin's root, with
    `?stripe_onboarding=return` or `?stripe_onboarding=refresh`."""

    return_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None,
        description="where Stripe sends the business once it is done (its status then shows on GET /business)",
    )
    refresh_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description="where Stripe sends it when the link expired or was used: ask for a new link there"
    )


class LogoIn(Input):
    content_type: Literal["image/png", "image/jpeg"]
    size: Annotated[int, Field(ge=1, description="bytes; at most 512 KiB (524,288)")]


class LogoConfirm(Input):
    id: Annotated[str, Field(pattern=r"^logo_[0-9A-Z]{26}$", description="the id the upload form came with")]
