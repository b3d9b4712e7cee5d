"""Use cases of the business profile, customers and products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from invoicing.domain.errors import FieldError, InvalidInput, NotFound, StaleVersion
from invoicing.domain.lifecycle import name_key
from invoicing.domain.money import format_amount, has_at_most_decimals, minor_unit, round_money
from invoicing.domain.search import words
from invoicing.logic.common import Deps, jsonable, validated
from invoicing.models.common import sent
from invoicing.models.resources import BusinessIn, ProductPatch
from invoicing.ports import Doc, InvoiceQuery, PageOf

BUSINESS_ID = "profile"
ID_PREFIXES = {"customer": "cus", "product": "prd", "template": "tpl"}
_SERVER_FIELDS = ("id", "version", "created_at", "updated_at")


def get_business(deps: Deps, tenant: str) -> Doc:
    """The profile, or its defaults at version 0 while never saved. A profile
    saved before a field existed reads with that field's default; an
    account id typed in before accounts were linked through Stripe reads
    `unverified`."""
    defaults = jsonable(BusinessIn.model_construct(legal_name=None).model_dump(exclude={"version"}))
    business = deps.store.get(tenant, "business", BUSINESS_ID)
    if business is None:
        return {"id": BUSINESS_ID, **defaults, "stripe_status": None, "logo": None, "version": 0,
                "created_at": None, "updated_at": None}  # fmt: skip
    return {**defaults, "logo": None, **business, **_linked(business)}


def put_business(deps: Deps, tenant: str, data: BusinessIn, if_match: int | None) -> Doc:
    """Replace the profile: every field as sent (what it leaves out takes its
    default). Once a profile exists, the version read is required, so that a
    profile written meanwhile is never overwritten unseen."""
    current = deps.store.get(tenant, "business", BUSINESS_ID)
    expected = expected_version(data.version, if_match)
    if current is not None and expected is None:
        raise InvalidInput.of(
            "version", "the profile exists: send the version you read (or If-Match), or PATCH the fields to change"
        )
    account = {"stripe_account_id": data.stripe_account_id} if "stripe_account_id" in data.model_fields_set else {}
    return _save_business(deps, tenant, current, data, expected, account)


def patch_business(deps: Deps, tenant: str, patch: BaseModel, if_match: int | None) -> Doc:
    """Change the fields sent, keep the others; the result is checked whole."""
    current = deps.store.get(tenant, "business", BUSINESS_ID)
    changes = sent(patch)
    expected = expected_version(changes.pop("version", None), if_match)
    account = {"stripe_account_id": changes.pop("stripe_account_id")} if "stripe_account_id" in changes else {}
    kept = {key: value for key, value in (current or {}).items() if key not in (*_SERVER_FIELDS, "logo")}
    data = validated(BusinessIn, {**kept, **jsonable(changes)})
    return _save_business(deps, tenant, current, data, expected, account)


def _linked(business: Doc) -> Doc:
    """The business's Stripe account and its status, linked through Stripe's
    onboarding (logic.stripe_accounts): read-only here, kept by every PUT
    and PATCH; an id typed in before reads `unverified`."""
    account = business.get("stripe_account_id")
    return {
        "stripe_account_id": account,
        "stripe_status": business.get("stripe_status") or ("unverified" if account else None),
    }


def _save_business(
    deps: Deps, tenant: str, current: Doc | None, data: BusinessIn, expected: int | None, account: Doc
) -> Doc:
    """`account`: the stripe_account_id the request sent, if it sent one —
    as it was read (ignored), or another (422: never written here)."""
    current_version = current["version"] if current else 0
    if expected is not None and expected != current_version:
        raise StaleVersion(current_version)
    linked = _linked(current or {})
    if account and account["stripe_account_id"] != linked["stripe_account_id"]:
        raise InvalidInput.of("stripe_account_id", "read-only: the Stripe account is linked through Stripe's "
                              "onboarding (POST /business/stripe/onboarding), never written here; send it back as "
                              "read, or leave it out")  # fmt: skip
    now = deps.timestamp()
    fields = jsonable(data.model_dump(exclude={"version"}))
    if fields.get("share_capital") is not None:
        fields["share_capital"] = format_amount(Decimal(fields["share_capital"]), "EUR")
    doc = {
        "id": BUSINESS_ID,
        **fields,
        **linked,  # linked through Stripe (logic.stripe_accounts), kept across PUTs and PATCHes
        "logo": (current or {}).get("logo"),  # uploaded apart (logic.logo), kept across PUTs
        "version": current_version + 1,
        "created_at": current["created_at"] if current else now,
        "updated_at": now,
    }
    deps.store.replace(tenant, "business", doc, expected_version=current_version, old_name=None, new_name=None)
    return doc


# -- customers and products ------------------------------------------------------------


def create(deps: Deps, tenant: str, kind: str, data: BaseModel) -> Doc:
    fields = _fields(kind, data.model_dump())
    now = deps.timestamp()
    doc = {"id": deps.new_id(ID_PREFIXES[kind]), **fields, "version": 1, "created_at": now, "updated_at": now}
    deps.store.create(tenant, kind, doc, name=name_key(doc["name"]))
    return doc


def get(deps: Deps, tenant: str, kind: str, id: str) -> Doc:
    doc = deps.store.get(tenant, kind, id)
    if doc is None:
        raise NotFound(kind)
    return doc


def update(deps: Deps, tenant: str, kind: str, id: str, patch: BaseModel, if_match: int | None) -> Doc:
    current = get(deps, tenant, kind, id)
    changes = sent(patch)
    expected = expected_version(changes.pop("version", None), if_match)
    if expected is not None and expected != current["version"]:
        raise StaleVersion(current["version"])
    if "name" in changes and changes["name"] is None:
        raise InvalidInput.of("name", "a name cannot be removed")
    merged = {key: value for key, value in current.items() if key not in _SERVER_FIELDS}
    merged.update(jsonable(changes))
    if kind == "product":
        merged = _fields(kind, validated(ProductPatch, merged).model_dump())
    if kind == "template":
        _check_template(merged)
    doc = {
        **merged,
        "id": id,
        "version": current["version"] + 1,
        "created_at": current["created_at"],
        "updated_at": deps.timestamp(),
    }
    deps.store.replace(
        tenant,
        kind,
        doc,
        expected_version=current["version"],
        old_name=name_key(current["name"]),
        new_name=name_key(doc["name"]),
    )
    return doc


def delete(deps: Deps, tenant: str, kind: str, id: str, version: int | None) -> None:
    current = get(deps, tenant, kind, id)
    deps.store.delete(tenant, kind, id, expected_version=version, name=name_key(current["name"]))


def list_page(deps: Deps, tenant: str, kind: str, limit: int, cursor: str | None, q: str | None = None) -> PageOf:
    """A page of the catalogue, newest first; with `q`, those whose name
    (a customer's legal name or e-mail too) has its words (domain.search)."""
    query = InvoiceQuery(words=words(q or ""))
    return deps.store.list(tenant, kind, limit=limit, cursor=cursor, query=query)


def chosen_customer(deps: Deps, tenant: str, draft: Doc) -> list[FieldError]:
    """The draft's customer checked to exist, its name kept on the draft as
    `draft_customer_name` (what a search finds the draft by until it is
    issued with the customer's snapshot); a problem if it does not exist."""
    customer_id = draft.get("customer_id")
    customer = customer_id and deps.store.get(tenant, "customer", customer_id)
    draft["draft_customer_name"] = customer.get("name") if customer else None
    if customer_id and not customer:
        return [FieldError("customer_id", "no customer with this id")]
    return []


def _fields(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "template":
        _check_template(data)
    if kind == "product":
        _check_price(data)
        data["unit_price"] = format_price(data["unit_price"], data["currency"])
    return {key: value for key, value in jsonable(data).items() if key != "version"}


def _check_template(data: dict[str, Any]) -> None:
    """What can be checked without dates: percentages add up to 100, amounts
    in the currency's decimals (the rest is checked on each invoice made)."""
    from datetime import date, timedelta

    from invoicing.domain import schedule

    plan = data.get("payment_schedule")
    if not plan:
        return
    start = date(2000, 1, 1)
    instalments = [
        schedule.Instalment(start + timedelta(days=item["days_after_issue"]), Decimal(str(item["value"])))
        for item in plan["instalments"]
    ]
    terms = data.get("payment_terms_days")
    due = start + timedelta(days=terms) if terms is not None else None
    problems = schedule.draft_problems(plan["type"], instalments, data.get("currency") or "EUR", start, due)
    if problems:
        raise InvalidInput([
            FieldError(p.field.replace(".due_date", ".days_after_issue"),
                       "after the payment terms (payment_terms_days)" if p.message.startswith("after the invoice's")
                       else p.message)
            for p in problems
        ])  # fmt: skip


def _check_price(data: dict[str, Any]) -> None:
    if data.get("unit_price") is None:
        raise InvalidInput.of("unit_price", "a product has a unit price")
    data["currency"] = data.get("currency") or "EUR"


def format_price(price: Any, currency: str) -> str:
    """A unit price shows the currency's decimals, more only when it has more
    (0.0125 €/kWh is a real price)."""
    value = Decimal(str(price))
    if has_at_most_decimals(value, minor_unit(currency)):
        value = round_money(value, currency)
    return f"{value + 0:f}"


def expected_version(in_body: int | None, if_match: int | None) -> int | None:
    if in_body is not None and if_match is not None and in_body != if_match:
        raise InvalidInput([FieldError("version", "the body's version and If-Match disagree")])
    return in_body if in_body is not None else if_match
