"""Field types shared by the wire models: the limits of SPEC §6.1 and the
formats of French business identifiers, checked once, here."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, create_model, model_validator
from pydantic.json_schema import JsonSchemaValue

from invoicing.domain.lifecycle import name_key
from invoicing.domain.money import CURRENCIES

MAX_TEXT = 5_000
MAX_NAME = 200
MAX_LINES = 1_000
MAX_LIST = 200

Text = Annotated[str, Field(max_length=MAX_TEXT)]


# What str.splitlines() splits on: every line break Unicode knows.
_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(value: str) -> str:
    """Names go into e-mail headers, SMS and PDF cells: no line breaks."""
    if _LINE_BREAK.search(value):
        raise ValueError("a name is one line: no line breaks")
    return value


# What nobody sees: every format (Cf) and control (Cc) character of Unicode 15.0 (Python 3.12's;
# tests/unit/test_models.py holds the list to unicodedata) but the tab, a space to a reader (and
# to the names' uniqueness, domain.lifecycle.name_key) — zero-width spaces and joiners, bidi
# embeddings, overrides and isolates, the BOM, soft hyphens, tags — and the few others that show
# as nothing (the combining grapheme joiner, the Hangul fillers, the blank Braille pattern). In a
# name, one makes a look-alike ("Dupont\u200b" beside "Dupont"); in a filename, an override turns
# "facture\u202efdp.exe" into "facture" + "exe.pdf" read backwards.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\u034f\u115f\u1160\u2800\u3164\uffa0]"
)


def invisible_character(value: str) -> str | None:
    """The first character of `value` a reader cannot see, if any."""
    found = _INVISIBLE.search(value)
    return found.group() if found else None


def visible(value: str) -> str:
    """Names and filenames are what people read to tell two apart: every
    character shows. (Emoji sequences joined by U+200D and Persian words
    with U+200C are refused too: the message names the character.)"""
    char = invisible_character(value)
    if char is not None:
        import unicodedata

        name = unicodedata.name(char, "a control character")
        raise ValueError(f"an invisible character, U+{ord(char):04X} ({name}): remove it")
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(one_line), AfterValidator(visible)]
ShortText = Annotated[str, Field(max_length=MAX_NAME)]

# Numbers arrive as JSON numbers or strings; both become exact Decimals
# (the API parses JSON floats as Decimal, never as binary floats).
Quantity = Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=6, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(ge=0, le=1_000_000_000_000, decimal_places=6, allow_inf_nan=False)]
Percentage = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4, allow_inf_nan=False)]
MoneyIn = Annotated[Decimal, Field(ge=0, le=1_000_000_000_000, decimal_places=4, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10_000)]
Version = Annotated[int, Field(ge=0)]
# Invoices are dated within these years; far enough for any real one, near
# enough that adding payment terms can never overflow a date.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"unknown currency {value!r}: use an ISO 4217 code such as EUR")
    return value


Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["EUR"]), AfterValidator(_currency)]

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")  # RFC 5321's Dot-string, in ASCII
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")


def _email(value: str) -> str:
    """One bare address, as SMTP takes it (RFC 5321): a dot-atom local part
    in ASCII (SES takes no other), `@`, and a domain of IDNA labels under a
    top-level domain. No display name, comment, quotes, brackets, comma,
    space or control character: `a@b.example,c` and `evil<a@b.example>`
    are not addresses. What Python's own parser reads must be the whole of it."""
    local, _, domain = value.rpartition("@")
    if not (0 < len(local) <= 64 and _LOCAL_PART.fullmatch(local) and "=?" not in local and _domain_ok(domain)):
        raise ValueError("not an e-mail address: one address such as compta@example.fr, without a name or brackets")
    from email.utils import parseaddr

    if parseaddr(value) != ("", value):
        raise ValueError("not an e-mail address: one address such as compta@example.fr, without a name or brackets")
    return value


def _domain_ok(domain: str) -> bool:
    """Each label a DNS label once IDNA-encoded (bücher → xn--bcher-kva), and
    one IDNA would not change on the way (a zero-width space it drops, a
    full-width letter it maps: look-alikes of another domain)."""
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253:
        return False
    encoded = []
    for label in labels:
        ascii_label = label.lower()
        if not label.isascii():
            try:
                ascii_label = label.encode("idna").decode("ascii")
                same = ascii_label.encode("ascii").decode("idna") == label.lower()
            except UnicodeError:
                return False
            if not same:
                return False
        if not _LABEL.fullmatch(ascii_label):
            return False
        encoded.append(ascii_label)
    return bool(_TOP_LEVEL.fullmatch(encoded[-1]))


def _phone(value: str) -> str:
    """A number that exists, in E.164. phonenumbers loads on the first phone
    a request carries, never at import."""
    compact = re.sub(r"[\s.()-]", "", value)
    if not _E164.match(compact):
        raise ValueError("use the international E.164 form, e.g. +33612345678")
    import phonenumbers

    try:
        number = phonenumbers.parse(compact)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number: use the E.164 form, e.g. +33612345678") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("no such phone number (check the country code and the length)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _siren(value: str) -> str:
    compact = value.replace(" ", "")
    if not (compact.isdigit() and len(compact) == 9 and luhn_ok(compact)):
        raise ValueError("a SIREN is 9 digits with a valid check digit")
    return compact


def _vat_number(value: str) -> str:
    compact = value.replace(" ", "").upper()
    if not _VAT.match(compact):
        raise ValueError("an intra-community VAT number starts with the country code, e.g. FR40303265045")
    if compact.startswith("FR") and compact[2:].isdigit() and len(compact) == 13:
        key, siren = int(compact[2:4]), int(compact[4:])
        if key != (12 + 3 * (siren % 97)) % 97:
            raise ValueError("the French VAT key does not match the SIREN")
    return compact


def _iban(value: str) -> str:
    """ISO 13616: country, check digits, then the account; mod 97 of the
    rearranged number is 1."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        raise ValueError("an IBAN is a country code, 2 check digits and the account, e.g. FR7630006000011234567890189")
    digits = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    if int(digits) % 97 != 1:
        raise ValueError("the IBAN's check digits do not match: check for a typo")
    return compact


def _bic(value: str) -> str:
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", compact):
        raise ValueError("a BIC is 8 or 11 letters and digits, e.g. BNPAFRPPXXX")
    return compact


Email = Annotated[str, Field(max_length=254, examples=["compta@example.fr"]), AfterValidator(_email)]
Phone = Annotated[str, Field(max_length=32, examples=["+33612345678"]), AfterValidator(_phone)]
Siren = Annotated[str, Field(max_length=11, examples=["732829320"]), AfterValidator(_siren)]
VatNumber = Annotated[str, Field(max_length=20, examples=["FR44732829320"]), AfterValidator(_vat_number)]
Iban = Annotated[str, Field(max_length=42, examples=["FR7630006000011234567890189"]), AfterValidator(_iban)]
Bic = Annotated[str, Field(max_length=14, examples=["BNPAFRPPXXX"]), AfterValidator(_bic)]


# The tags of the request unions (a payment's `method`): pydantic names the
# variant in an error's path, the API leaves it out (api.http._field_of).
UNION_TAGS: set[str] = set()


class Model(BaseModel):
    """Every model: its validator is built when it first validates (or is
    documented), not when a function loads it. An API function loads the
    models of all its routes and validates one a request: the response
    models are there for the OpenAPI document only, which one request in
    thousands asks for."""

    model_config = ConfigDict(defer_build=True)


class Input(Model):
    """Every request model: unknown fields are an error naming the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def __repr__(self) -> str:
        """Short: Powertools formats every route's arguments into a debug
        message, logged or not; the full repr of an invoice of 1,000 lines
        was a third of POST /totals. (Its fields, with `model_dump()`.)"""
        return f"{type(self).__name__}({', '.join(sorted(self.model_fields_set))})"

    __str__ = __repr__


def sent(model: BaseModel) -> dict[str, Any]:
    """The fields a request sent, each whole: a nested object sent in part
    takes its defaults (tips {"enabled": true} is stored and shown with its
    percentages), what was not sent at all is left out (a PATCH keeps it)."""
    whole = model.model_dump()
    return {name: whole[name] for name in model.model_fields_set if name in whole}


class ReadBack(Input):
    """A body a client may build from what it read: the fields the server
    owns (`read_only`: ids, timestamps, computed amounts), sent back as they
    were read, are ignored — a frontend can PUT or PATCH what it GETs. The
    schema names them, read-only."""

    read_only: ClassVar[frozenset[str]] = frozenset({"id", "created_at", "updated_at"})

    @model_validator(mode="before")
    @classmethod
    def _ignore_read_only(cls, data: Any) -> Any:
        # a copy only when there is something to drop: the editor sends 1,000 lines a keystroke
        if isinstance(data, dict) and not cls.read_only.isdisjoint(data):
            return {key: value for key, value in data.items() if key not in cls.read_only}
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        properties = resolved.setdefault("properties", {})
        for name in sorted(cls.read_only):
            properties.setdefault(name, {"readOnly": True, "description": "set by the server: ignored when sent"})
        return schema


class Output(Model):
    """Every response model: what the API sends, each field named (the
    contract tests refuse a field a response carries that its model does
    not name). Responses are built as dicts; these models document them."""


# Amounts and rates in responses: decimal strings, exact (SPEC §4), never JSON numbers.
Amount = Annotated[
    str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["1398.00"], description="a decimal string, exact")
]


def _checked(annotation: Any, metadata: list[Any]) -> Any:
    return Annotated[(annotation, *metadata)] if metadata else annotation


def patch_of(model: type[Input], name: str) -> type[Input]:
    """The PATCH body of `model`: each of its fields, optional, with the same
    checks; only the fields sent change. Plus the `version` read."""
    fields: dict[str, Any] = {
        field_name: (
            _checked(field.annotation, field.metadata) | None,
            Field(None, description=field.description, json_schema_extra=field.json_schema_extra),
        )
        for field_name, field in model.model_fields.items()
    }
    fields["version"] = (Version | None, Field(None, description="the version you read (or If-Match)"))
    base = ReadBack if issubclass(model, ReadBack) else Input
    patch: type[Input] = create_model(name, __base__=base, __doc__=f"A change to a {model.__name__}.", **fields)
    if issubclass(model, ReadBack):
        patch.read_only = model.read_only  # type: ignore[attr-defined]
    return patch


class Address(Input):
    line1: ShortText
    line2: ShortText | None = None
    postal_code: Annotated[str, Field(max_length=20)]
    city: ShortText
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["FR"], description="ISO 3166-1 alpha-2")]


class DiscountIn(Input):
    type: Literal["percentage", "fixed"]
    value: MoneyIn

    @model_validator(mode="after")
    def _percentage_at_most_100(self) -> Self:
        if self.type == "percentage" and self.value > 100:
            raise ValueError("a percentage discount is at most 100")
        return self


class TaxIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=50, examples=["TVA"])]
    rate: Percentage
    inclusive: bool = False


def _distinct_taxes(taxes: list[TaxIn]) -> list[TaxIn]:
    if len(taxes) < 2:  # most lines: one tax, nothing to compare
        return taxes
    names = [name_key(tax.name) for tax in taxes]
    if len(names) != len(set(names)):
        raise ValueError("each tax at most once (names compared without case)")
    return taxes


Taxes = Annotated[list[TaxIn], Field(max_length=10), AfterValidator(_distinct_taxes)]


ItemT = TypeVar("ItemT")


class Page(Model, Generic[ItemT]):
    """Every list: follow `next_cursor` until it is null."""

    items: list[ItemT]
    next_cursor: str | None
