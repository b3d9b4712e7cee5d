"""Saved payment methods on the in-memory store (SPEC §12): the default
rules, recording once, a detached method never coming back, and the setup
request's types — milliseconds each, no Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from invoicing.logic import payment_methods
from invoicing.logic.common import Deps
from invoicing.models.payment_methods import PaymentMethodSetupIn
from tests.fakes.store import InMemoryStore

pytestmark = pytest.mark.unit

CUSTOMER = "cus_01"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)  # every stamp later than the one before
        return self.at


@pytest.fixture
def deps() -> Deps:
    store = InMemoryStore()
    store.create("acme", "customer", {"id": CUSTOMER, "name": "Dupont", "version": 1, "created_at": "x",
                                      "updated_at": "x"}, name="dupont")  # fmt: skip
    return Deps(store=store, now=Clock())


def card(pm: str, brand: str = "visa") -> dict[str, Any]:
    details = {"brand": brand, "last4": "4242", "exp_month": 12, "exp_year": 2030, "country": "FR"}
    return {"id": pm, "type": "card", "customer": "cus_Stripe1", "card": details}


def defaults(deps: Deps) -> list[tuple[str, bool]]:
    return [(item["id"], item["default"]) for item in payment_methods.list_methods(deps, "acme", CUSTOMER)]


def test_given_no_method_when_one_is_saved_then_it_is_the_default(deps):
    assert payment_methods.record(deps, "acme", CUSTOMER, card("pm_1"), "acct_1") == "payment method recorded"

    assert defaults(deps) == [("pm_1", True)]


def test_given_a_default_when_another_is_saved_then_the_first_stays_the_default(deps):
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_1"), "acct_1")
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_2"), "acct_1")

    assert defaults(deps) == [("pm_1", True), ("pm_2", False)]


def test_when_one_is_chosen_then_it_alone_is_the_default(deps):
    for pm in ("pm_1", "pm_2", "pm_3"):
        payment_methods.record(deps, "acme", CUSTOMER, card(pm), "acct_1")

    chosen = payment_methods.choose_default(deps, "acme", CUSTOMER, "pm_2")

    assert (chosen["id"], chosen["default"]) == ("pm_2", True)
    assert defaults(deps) == [("pm_1", False), ("pm_2", True), ("pm_3", False)]


def test_when_the_default_is_removed_then_the_newest_remaining_is_even_over_an_older_choice(deps):
    for pm in ("pm_1", "pm_2", "pm_3"):
        payment_methods.record(deps, "acme", CUSTOMER, card(pm), "acct_1")
    payment_methods.choose_default(deps, "acme", CUSTOMER, "pm_2")

    assert payment_methods.forget(deps, "acme", CUSTOMER, "pm_2", "acct_1") == "payment method removed"

    assert defaults(deps) == [("pm_1", False), ("pm_3", True)]


def test_when_a_method_that_is_not_the_default_is_removed_then_the_default_stays(deps):
    for pm in ("pm_1", "pm_2"):
        payment_methods.record(deps, "acme", CUSTOMER, card(pm), "acct_1")

    payment_methods.forget(deps, "acme", CUSTOMER, "pm_2", "acct_1")

    assert defaults(deps) == [("pm_1", True)]


def test_given_two_first_saves_that_both_claimed_the_default_then_exactly_one_is_shown(deps):
    """Two first methods recorded at once each see none before them."""
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_1"), "acct_1")
    raced = deps.store.get("acme", "payment_method", f"{CUSTOMER}.pm_1")
    deps.store.delete("acme", "payment_method", raced["id"], expected_version=None, name=None)
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_2"), "acct_1")
    deps.store.create("acme", "payment_method", raced, name=None)

    assert [flag for _, flag in defaults(deps)].count(True) == 1


def test_a_method_recorded_twice_is_kept_once_and_a_mandate_learnt_later_is_added(deps):
    iban = {"id": "pm_9", "type": "sepa_debit", "customer": "cus_Stripe1",
            "sepa_debit": {"last4": "2606", "bank_code": "20041", "country": "FR"}}  # fmt: skip
    payment_methods.record(deps, "acme", CUSTOMER, iban, "acct_1")

    assert payment_methods.record(deps, "acme", CUSTOMER, iban, "acct_1", "mandate_1") == "mandate recorded"
    assert payment_methods.record(deps, "acme", CUSTOMER, iban, "acct_1", "mandate_1") == "already recorded"

    (only,) = payment_methods.list_methods(deps, "acme", CUSTOMER)
    assert (only["type"], only["mandate"], only["brand"], only["last4"]) == ("sepa_debit", "mandate_1", None, "2606")


def test_a_detached_method_is_never_recorded_again(deps):
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_1"), "acct_1")
    payment_methods.forget(deps, "acme", CUSTOMER, "pm_1", "acct_1")

    assert payment_methods.record(deps, "acme", CUSTOMER, card("pm_1"), "acct_1") == "detached since"
    assert payment_methods.default_method(deps, "acme", CUSTOMER) is None


def test_the_default_method_is_the_stored_one_under_stripe_s_id(deps):
    payment_methods.record(deps, "acme", CUSTOMER, card("pm_1", "mastercard"), "acct_1")

    found = payment_methods.default_method(deps, "acme", CUSTOMER)

    assert (found["id"], found["type"], found["brand"]) == ("pm_1", "card", "mastercard")
    assert (found["stripe_customer"], found["account"], found["customer_id"]) == ("cus_Stripe1", "acct_1", CUSTOMER)


def test_a_kind_of_method_other_than_card_or_sepa_debit_is_not_kept(deps):
    other = {"id": "pm_5", "type": "link", "customer": "cus_Stripe1", "link": {}}

    assert payment_methods.record(deps, "acme", CUSTOMER, other, "acct_1") == "a link method: not kept"
    assert payment_methods.list_methods(deps, "acme", CUSTOMER) == []


@pytest.mark.parametrize("types", [["card"], ["sepa_debit"], ["card", "sepa_debit"]])
def test_the_setup_takes_card_and_sepa_debit(types):
    assert PaymentMethodSetupIn(types=types).types == types


@pytest.mark.parametrize("types", [[], ["paypal"], ["card", "card"], ["card", "ideal"]])
def test_the_setup_refuses_other_types_naming_types(types):
    with pytest.raises(ValidationError) as refused:
        PaymentMethodSetupIn(types=types)

    assert [error["loc"] for error in refused.value.errors()] == [("types",)]
