"""/customers and /products: CRUD, name uniqueness, pagination (SPEC §5)."""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

KINDS = {
    "customers": {"name": "Dupont & Fils", "email": "compta@dupont.example", "phone": "+33612345678"},
    "products": {"name": "Journée de développement", "unit_price": "450", "unit": "jour",
                 "taxes": [{"name": "TVA", "rate": "20"}]},
}  # fmt: skip
CHANGES = {"customers": {"email": "factures@dupont.example"}, "products": {"unit_price": "500"}}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def test_when_created_then_201_with_location_and_version_1(api, kind):
    reply = api.post(f"/{kind}", KINDS[kind])

    assert reply.status == 201
    assert reply.body["id"]
    assert reply.body["version"] == 1
    assert reply.headers["Location"] == f"{os.environ['PUBLIC_BASE_URL']}/{kind}/{reply.body['id']}"
    assert api.get(urlsplit(reply.headers["Location"]).path).body == reply.body


def test_given_a_product_priced_450_when_created_then_unit_price_is_450_00_eur(api):
    reply = api.post("/products", KINDS["products"])

    assert reply.body["unit_price"] == "450.00"
    assert reply.body["currency"] == "EUR"
    assert reply.body["taxes"] == [{"name": "TVA", "rate": "20", "inclusive": False}]


def test_given_one_when_patched_partially_then_other_fields_kept_and_version_2(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body

    reply = api.patch(f"/{kind}/{created['id']}", {**CHANGES[kind], "version": 1})

    assert reply.status == 200, reply.body
    assert reply.body["version"] == 2
    assert reply.body["name"] == created["name"]
    field, value = next(iter(CHANGES[kind].items()))
    expected = "500.00" if field == "unit_price" else value
    assert reply.body[field] == expected
    assert api.get(f"/{kind}/{created['id']}").body == reply.body


def test_given_version_2_when_patched_with_version_1_then_409_stale(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body
    api.patch(f"/{kind}/{created['id']}", {"name": "Renamed"})

    reply = api.patch(f"/{kind}/{created['id']}", {"name": "Stale", "version": 1})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get(f"/{kind}/{created['id']}").body["name"] == "Renamed"


def test_when_patched_with_name_null_then_422_naming_name(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body

    reply = api.patch(f"/{kind}/{created['id']}", {"name": None})

    assert reply.status == 422
    assert "name" in reply.error_fields


def test_given_one_when_deleted_then_204_and_then_404(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body

    deleted = api.delete(f"/{kind}/{created['id']}")

    assert deleted.status == 204
    assert api.get(f"/{kind}/{created['id']}").status == 404
    assert api.delete(f"/{kind}/{created['id']}").status == 404
    assert api.patch(f"/{kind}/{created['id']}", {"name": "x"}).status == 404


def test_given_a_deleted_one_when_its_name_is_reused_then_201(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body
    api.delete(f"/{kind}/{created['id']}")

    assert api.post(f"/{kind}", KINDS[kind]).status == 201


def test_when_deleted_with_stale_if_match_then_409_and_still_there(api, kind):
    created = api.post(f"/{kind}", KINDS[kind]).body
    api.patch(f"/{kind}/{created['id']}", {"name": "Renamed"})

    reply = api.delete(f"/{kind}/{created['id']}", headers={"If-Match": "1"})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get(f"/{kind}/{created['id']}").status == 200


def test_when_unknown_id_then_404(api, kind):
    assert api.get(f"/{kind}/cus_00000000000000000000000000").status == 404


@pytest.mark.parametrize("same_name", ["Acme SAS", "acme sas", "ACME SAS", "  Acme   SAS  ", "Acme\tSAS"])
def test_given_acme_sas_when_creating_the_same_name_in_any_case_or_spacing_then_409(api, kind, same_name):
    api.post(f"/{kind}", {**KINDS[kind], "name": "Acme SAS"})

    reply = api.post(f"/{kind}", {**KINDS[kind], "name": same_name})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "name_taken"
    assert reply.error_fields == ["name"]
    assert len(api.get(f"/{kind}").body["items"]) == 1


def test_given_two_when_renaming_one_to_the_others_name_then_409(api, kind):
    api.post(f"/{kind}", {**KINDS[kind], "name": "Alpha"})
    beta = api.post(f"/{kind}", {**KINDS[kind], "name": "Beta"}).body

    reply = api.patch(f"/{kind}/{beta['id']}", {"name": "ALPHA"})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "name_taken"
    assert api.get(f"/{kind}/{beta['id']}").body["name"] == "Beta"


def test_given_a_rename_when_creating_with_the_old_name_then_201_and_new_name_is_taken(api, kind):
    first = api.post(f"/{kind}", {**KINDS[kind], "name": "Alpha"}).body
    api.patch(f"/{kind}/{first['id']}", {"name": "Gamma"})

    assert api.post(f"/{kind}", {**KINDS[kind], "name": "alpha"}).status == 201
    assert api.post(f"/{kind}", {**KINDS[kind], "name": "gamma"}).status == 409


def test_when_renamed_to_a_case_variant_of_itself_then_200(api, kind):
    created = api.post(f"/{kind}", {**KINDS[kind], "name": "acme sas"}).body

    reply = api.patch(f"/{kind}/{created['id']}", {"name": "ACME SAS"})

    assert reply.status == 200
    assert reply.body["name"] == "ACME SAS"
    assert api.post(f"/{kind}", {**KINDS[kind], "name": "Acme Sas"}).status == 409


def _all_pages(api, path: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(20):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(path + query)
        assert reply.status == 200, reply.body
        pages.append([item["id"] for item in reply.body["items"]])
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination did not end")


def test_given_7_when_paged_by_3_then_every_item_exactly_once(api, kind):
    created = {api.post(f"/{kind}", {**KINDS[kind], "name": f"Item {i}"}).body["id"] for i in range(7)}

    pages = _all_pages(api, f"/{kind}", 3)

    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [item for page in pages for item in page]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_given_7_when_listed_without_limit_then_all_in_one_page_and_no_cursor(api, kind):
    for i in range(7):
        api.post(f"/{kind}", {**KINDS[kind], "name": f"Item {i}"})

    reply = api.get(f"/{kind}")

    assert len(reply.body["items"]) == 7
    assert reply.body["next_cursor"] is None


def test_given_none_when_listed_then_empty_page(api, kind):
    assert api.get(f"/{kind}").body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        "AAAA",
        base64.urlsafe_b64encode(b'{"a": 1}').decode().rstrip("="),
        base64.urlsafe_b64encode(json.dumps(["BUSINESS#profile"]).encode()).decode().rstrip("="),
    ],
)
def test_when_listed_with_a_bad_cursor_then_400_naming_cursor(api, kind, cursor):
    reply = api.get(f"/{kind}?cursor={cursor}")

    assert reply.status == 400, reply.body
    assert reply.error_fields == ["cursor"]


def test_given_a_product_cursor_when_used_on_customers_then_400(api):
    for i in range(3):
        api.post("/products", {**KINDS["products"], "name": f"P{i}"})
    cursor = api.get("/products?limit=1").body["next_cursor"]
    assert cursor

    reply = api.get(f"/customers?cursor={cursor}")

    assert reply.status == 400
    assert reply.error_fields == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_when_listed_with_limit_out_of_1_to_200_then_422_naming_limit(api, kind, limit):
    reply = api.get(f"/{kind}?limit={limit}")

    assert reply.status == 422
    assert reply.error_fields == ["limit"]


@pytest.mark.parametrize("limit", ["1", "200"])
def test_when_listed_with_limit_at_the_bounds_then_200(api, kind, limit):
    assert api.get(f"/{kind}?limit={limit}").status == 200


def test_when_customer_has_bad_phone_email_siren_vat_then_422_naming_each(api):
    reply = api.post(
        "/customers",
        {"name": "Bad", "phone": "0612345678", "email": "nope", "siren": "123456789", "vat_number": "FR00123456789"},
    )

    assert reply.status == 422
    assert set(reply.error_fields) == {"phone", "email", "siren", "vat_number"}


def test_when_product_price_is_negative_or_currency_unknown_then_422(api):
    reply = api.post("/products", {"name": "Bad", "unit_price": "-1", "currency": "XYZ"})

    assert reply.status == 422
    assert set(reply.error_fields) == {"unit_price", "currency"}


def test_when_product_priced_0_0125_then_extra_decimals_kept(api):
    reply = api.post("/products", {"name": "kWh", "unit_price": "0.0125"})

    assert reply.status == 201
    assert reply.body["unit_price"] == "0.0125"


def test_when_created_with_an_unknown_field_then_422_naming_it(api, kind):
    reply = api.post(f"/{kind}", {**KINDS[kind], "colour": "blue"})

    assert reply.status == 422
    assert reply.error_fields == ["colour"]


def test_when_a_product_carries_the_same_tax_twice_then_422(api):
    """Its lines would otherwise count the VAT twice."""
    taxes = [{"name": "TVA", "rate": "20"}, {"name": "tva", "rate": "20"}]

    reply = api.post("/products", {"name": "Double", "unit_price": "100", "taxes": taxes})

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["taxes"]
