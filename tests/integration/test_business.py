"""GET/PUT/PATCH /business: the issuer profile (SPEC §5, §6.2)."""

from __future__ import annotations

import pytest

from tests.conftest import BUSINESS

pytestmark = pytest.mark.integration

LEGAL_IDENTITY = {
    "legal_form": "SAS",
    "share_capital": "10000",
    "trade_register": {"kind": "RCS", "city": "Paris"},
    "vat_on_debits": True,
}


def test_given_no_profile_when_get_then_defaults_at_version_0(api):
    reply = api.get("/business")

    assert reply.status == 200
    assert reply.body["version"] == 0
    assert reply.body["legal_name"] is None
    assert reply.body["invoice_number_prefix"] == "INV-"
    assert reply.body["locale"] == "fr-FR"


def test_given_no_profile_when_put_then_created_at_version_1_and_readable(api):
    put = api.put("/business", BUSINESS)

    assert put.status == 200
    assert put.body["version"] == 1
    assert put.body["legal_name"] == "Acme SAS"
    assert put.body["siren"] == "732829320"
    got = api.get("/business")
    assert got.status == 200
    assert got.body == put.body


def test_given_a_profile_when_put_again_then_it_is_replaced_not_merged(api):
    api.put("/business", {**BUSINESS, "email": "compta@acme.example", "invoice_number_prefix": "FAC-"})

    reply = api.put("/business", {"legal_name": "Acme Holding", "version": 1})

    assert reply.status == 200
    assert reply.body["version"] == 2
    assert reply.body["legal_name"] == "Acme Holding"
    assert reply.body["email"] is None  # omitted fields are not kept from version 1
    assert reply.body["siren"] is None
    assert reply.body["invoice_number_prefix"] == "INV-"
    assert api.get("/business").body == reply.body


def test_given_version_2_when_put_with_version_1_then_409_stale_and_unchanged(api):
    api.put("/business", BUSINESS)
    api.put("/business", {**BUSINESS, "legal_name": "Acme v2", "version": 1})

    reply = api.put("/business", {**BUSINESS, "legal_name": "Acme stale", "version": 1})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get("/business").body["legal_name"] == "Acme v2"


def test_given_a_profile_when_put_with_stale_if_match_then_409(api):
    api.put("/business", BUSINESS)

    reply = api.put("/business", {**BUSINESS, "legal_name": "Other"}, headers={"If-Match": '"0"'})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"


def test_given_no_profile_when_put_claiming_version_3_then_409(api):
    reply = api.put("/business", {**BUSINESS, "version": 3})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get("/business").body["version"] == 0


def test_given_a_profile_when_put_without_the_version_then_422_naming_it_and_nothing_is_wiped(api):
    """A frontend that PUTs two fields used to wipe the SIREN, the address and the VAT number."""
    api.put("/business", BUSINESS)

    reply = api.put("/business", {"legal_name": "Acme SAS", "email": "compta@acme.example"})

    assert reply.status == 422
    assert reply.error_fields == ["version"]
    assert api.get("/business").body["siren"] == BUSINESS["siren"]


def test_given_a_profile_when_patched_with_one_field_then_the_others_are_kept(api):
    saved = api.put("/business", BUSINESS).body

    reply = api.patch("/business", {"email": "compta@acme.example"})

    assert reply.status == 200, reply.body
    assert reply.body["email"] == "compta@acme.example"
    assert reply.body["version"] == saved["version"] + 1
    assert {key: reply.body[key] for key in ("legal_name", "siren", "vat_number", "address")} == {
        key: saved[key] for key in ("legal_name", "siren", "vat_number", "address")
    }
    assert api.get("/business").body == reply.body


def test_a_patch_is_checked_whole_and_with_a_stale_version_is_a_409(api):
    api.put("/business", BUSINESS)

    unregistered = api.patch("/business", {"siren": None})  # the VAT number and the registration stay
    bad = api.patch("/business", {"siren": "732829321"})
    stale = api.patch("/business", {"email": "a@acme.example", "version": 0})
    with_if_match = api.patch("/business", {"email": "b@acme.example"}, headers={"If-Match": "2"})

    assert (unregistered.status, unregistered.body["siren"]) == (200, None)
    assert (bad.status, bad.error_fields) == (422, ["siren"])
    assert (stale.status, stale.body["error"]["code"]) == (409, "stale_version")
    assert (with_if_match.status, with_if_match.body["email"]) == (200, "b@acme.example")


def test_given_no_profile_when_patched_then_created_if_it_names_the_business(api):
    nameless = api.patch("/business", {"email": "compta@acme.example"})
    named = api.patch("/business", {"legal_name": "Acme SAS", "siren": "732829320"})

    assert (nameless.status, nameless.error_fields) == (422, ["legal_name"])
    assert (named.status, named.body["version"], named.body["siren"]) == (200, 1, "732829320")


def test_what_get_returns_can_be_put_and_patched_back_as_it_is(api, business):
    """Read-only fields sent back unchanged (id, logo, timestamps) are ignored, not a 422."""
    read = api.get("/business").body

    put = api.put("/business", read)
    patched = api.patch("/business", api.get("/business").body)

    assert put.status == 200, put.body
    assert patched.status == 200, patched.body
    unchanged = lambda body: {k: v for k, v in body.items() if k not in ("version", "updated_at")}  # noqa: E731
    assert unchanged(patched.body) == unchanged(put.body) == unchanged(read)
    assert patched.body["version"] == read["version"] + 2


@pytest.mark.parametrize("kind", ["customers", "products", "templates"])
def test_what_get_returns_of_a_catalogue_item_can_be_patched_back(api, kind):
    body = {"customers": {"name": "Dupont"}, "products": {"name": "Audit", "unit_price": "750"},
            "templates": {"name": "Mensuel", "lines": [{"name": "Forfait", "unit_price": "90"}]}}[kind]  # fmt: skip
    created = api.post(f"/{kind}", body).body

    read = api.get(f"/{kind}/{created['id']}").body
    reply = api.patch(f"/{kind}/{created['id']}", read)

    assert reply.status == 200, reply.body
    assert reply.body["version"] == read["version"] + 1
    assert reply.body["id"] == created["id"]


def test_the_legal_identity_is_saved_and_the_share_capital_shows_cents(api):
    reply = api.put("/business", {**BUSINESS, **LEGAL_IDENTITY})

    assert reply.status == 200, reply.body
    assert reply.body["legal_form"] == "SAS"
    assert reply.body["share_capital"] == "10000.00"
    assert reply.body["trade_register"] == {"kind": "RCS", "city": "Paris"}
    assert reply.body["vat_on_debits"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"legal_form": "EI"}, "share_capital"),  # an individual entrepreneur has no share capital
        ({"legal_form": None}, "share_capital"),
        ({"siren": None}, "trade_register"),  # "RCS Paris" is printed with the SIREN
        ({"trade_register": {"kind": "RCS"}}, "trade_register.city"),
        ({"trade_register": {"kind": "RCSB", "city": "Paris"}}, "trade_register.kind"),
        ({"vat_franchise": True, "vat_number": None}, "vat_on_debits"),  # no VAT charged: no option on it
        ({"legal_form": "Ltd"}, "legal_form"),
        ({"share_capital": "-1"}, "share_capital"),
    ],
)
def test_a_legal_identity_that_does_not_hold_together_is_a_422_naming_the_field(api, change, field):
    reply = api.put("/business", {**BUSINESS, **LEGAL_IDENTITY, **change})

    assert reply.status == 422, reply.body
    assert field in reply.error_fields
    assert api.get("/business").body["version"] == 0


def test_given_a_profile_when_put_with_current_if_match_then_saved(api):
    api.put("/business", BUSINESS)

    reply = api.put("/business", {**BUSINESS, "legal_name": "Acme SA"}, headers={"If-Match": "1"})

    assert reply.status == 200
    assert reply.body["version"] == 2


def test_when_put_phone_with_spaces_then_stored_in_e164(api):
    reply = api.put("/business", {**BUSINESS, "phone": "+33 6 12 34 56 78"})

    assert reply.status == 200
    assert reply.body["phone"] == "+33612345678"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "732829321"),  # Luhn check digit wrong
        ("siren", "73282932"),  # 8 digits
        ("vat_number", "FR45732829320"),  # French key does not match the SIREN (44)
        ("vat_number", "732829320"),  # no country code
        ("email", "compta-at-acme.example"),
        ("sender_email", "compta@"),
        ("phone", "0612345678"),  # national form, not E.164
        ("phone", "+0612345678"),
        ("default_currency", "XYZ"),
        ("invoice_number_prefix", "FAC 2026/"),  # space not allowed
        ("invoice_number_prefix", "F" * 21),
        ("legal_name", ""),
        ("locale", "de-DE"),
        ("payment_terms_days", -1),
    ],
)
def test_when_put_an_invalid_field_then_422_naming_it_and_nothing_saved(api, field, value):
    reply = api.put("/business", {**BUSINESS, field: value})

    assert reply.status == 422, reply.body
    assert field in reply.error_fields
    assert api.get("/business").body["version"] == 0


def test_when_put_without_legal_name_then_422_naming_it(api):
    body = {key: value for key, value in BUSINESS.items() if key != "legal_name"}

    reply = api.put("/business", body)

    assert reply.status == 422
    assert reply.error_fields == ["legal_name"]


def test_when_put_an_unknown_field_then_422_naming_it(api):
    reply = api.put("/business", {**BUSINESS, "iban": "FR76..."})

    assert reply.status == 422
    assert reply.error_fields == ["iban"]


def test_when_put_address_with_bad_country_then_422_naming_the_nested_field(api):
    address = {**BUSINESS["address"], "country": "France"}

    reply = api.put("/business", {**BUSINESS, "address": address})

    assert reply.status == 422
    assert reply.error_fields == ["address.country"]


@pytest.mark.parametrize("prefix", ["A1", "F-2026", "9"])
def test_when_the_number_prefix_ends_with_a_digit_then_422_naming_it(api, prefix):
    """A1 + 1 and A + 11 would both read A11: a prefix ends with a letter or a separator."""
    reply = api.put("/business", {**BUSINESS, "invoice_number_prefix": prefix})

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["invoice_number_prefix"]


@pytest.mark.parametrize("prefix", ["", "F2026-", "FAC/", "A"])
def test_when_the_number_prefix_ends_with_a_letter_a_separator_or_is_empty_then_saved(api, prefix):
    reply = api.put("/business", {**BUSINESS, "invoice_number_prefix": prefix})

    assert reply.status == 200, reply.body
    assert reply.body["invoice_number_prefix"] == prefix


def test_the_stripe_account_is_read_only_a_typed_in_one_is_a_422_naming_it_and_nothing_is_written(api):
    """Issue 19 §2: a tenant typed another's account id and charged on it.
    The account is linked through Stripe's onboarding (test_stripe_connect)."""
    typed_in = api.put("/business", {**BUSINESS, "stripe_account_id": "acct_1Nv0FGQ9RKHgCVdK"})
    saved = api.put("/business", BUSINESS)
    patched = api.patch("/business", {"stripe_account_id": "acct_1Nv0FGQ9RKHgCVdK"})
    replaced = api.put("/business", {**BUSINESS, "stripe_account_id": "acct_1Nv0FGQ9RKHgCVdK", "version": 1})
    secret_key = api.patch("/business", {"stripe_account_id": "sk_live_51H"})

    assert saved.status == 200
    for reply in (typed_in, patched, replaced, secret_key):
        assert reply.status == 422, reply.body
        assert reply.error_fields == ["stripe_account_id"]
    after = api.get("/business").body
    assert (after["stripe_account_id"], after["stripe_status"], after["version"]) == (None, None, 1)
    # what GET returned goes back as it is: the read-only fields as read are ignored
    assert api.put("/business", after).status == 200
    assert api.patch("/business", {"stripe_account_id": None, "stripe_status": "active"}).status == 200
    assert api.get("/business").body["stripe_status"] is None


def test_given_a_profile_saved_before_the_legal_fields_existed_when_read_then_they_have_their_defaults(api):
    from invoicing.adapters.live import deps

    saved = api.put("/business", BUSINESS).body
    newer = {"legal_form": None, "share_capital": None, "trade_register": None, "vat_on_debits": False,
             "receipts": "every_payment"}  # fmt: skip
    older = {key: value for key, value in saved.items() if key not in newer}
    deps().store.replace("acme", "business", {**older, "version": 2}, expected_version=1, old_name=None, new_name=None)

    reply = api.get("/business")

    assert reply.status == 200
    assert reply.body == {**older, **newer, "version": 2}
    assert api.patch("/business", {"email": "compta@acme.example", "version": 2}).status == 200
