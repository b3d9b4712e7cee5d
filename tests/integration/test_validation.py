"""Bad input answers 400/413/422 naming what is wrong, never a 500 (SPEC §5,
§6.1 limits), and amounts are read exactly."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.conftest import BUSINESS, SPEC_INVOICE

pytestmark = pytest.mark.integration

LINE = {"name": "Conseil", "unit_price": "100"}

WRITES = [
    ("POST", "/invoices"),
    ("POST", "/totals"),
    ("PUT", "/business"),
    ("POST", "/customers"),
    ("POST", "/products"),
]


# -- malformed bodies ---------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"name": "x"', "{name: 'x'}", '{"name": "x",}', "\x00"])
@pytest.mark.parametrize("route", WRITES, ids=" ".join)
def test_when_the_body_is_not_json_then_400_malformed_json(api, route, raw):
    method, path = route

    reply = api.call(method, path, raw=raw)

    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("path", ["/invoices/inv_1", "/customers/cus_1", "/products/prd_1"])
def test_when_a_patch_body_is_not_json_then_400(api, path):
    reply = api.patch(path, raw="{oops")

    assert reply.status == 400
    assert reply.body["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("raw", ["[]", '"invoice"', "42", "true"])
def test_when_the_body_is_json_but_not_an_object_then_422(api, raw):
    reply = api.post("/invoices", raw=raw)

    assert reply.status == 422, reply.body


def test_when_the_json_is_nested_100000_deep_then_4xx_not_500(api):
    """Hostile but small (200 KB) JSON: the parser's recursion limit is a client error."""
    reply = api.post("/invoices", raw="[" * 100_000 + "]" * 100_000)

    assert 400 <= reply.status < 500, reply.body


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_when_a_quantity_is_a_non_finite_json_constant_then_422_naming_it(api, constant):
    raw = '{"name": "x", "lines": [{"name": "a", "unit_price": "1", "quantity": ' + constant + "}]}"

    reply = api.post("/invoices", raw=raw)

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.quantity"]


# -- wrong types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({**LINE, "quantity": "abc"}, "lines.0.quantity"),
        ({**LINE, "quantity": "-1"}, "lines.0.quantity"),
        ({**LINE, "unit_price": "1.0000001"}, "lines.0.unit_price"),
        ({**LINE, "unit_price": [1]}, "lines.0.unit_price"),
        ({**LINE, "taxes": {"name": "TVA", "rate": "20"}}, "lines.0.taxes"),
        ({**LINE, "taxes": [{"name": "TVA", "rate": "101"}]}, "lines.0.taxes.0.rate"),
        ({**LINE, "discount": {"type": "percentage", "value": "150"}}, "lines.0.discount"),
        ({**LINE, "discount": {"type": "coupon", "value": "1"}}, "lines.0.discount.type"),
        ({**LINE, "colour": "red"}, "lines.0.colour"),
    ],
)
def test_when_a_line_field_has_the_wrong_type_or_range_then_422_naming_it(api, line, field):
    reply = api.post("/invoices", {"name": "x", "lines": [line]})

    assert reply.status == 422, reply.body
    assert field in reply.error_fields


@pytest.mark.parametrize("lines", ["abc", {"name": "a"}, 3])
def test_when_lines_is_not_a_list_then_422_naming_lines(api, lines):
    reply = api.post("/invoices", {"name": "x", "lines": lines})

    assert reply.status == 422
    assert reply.error_fields == ["lines"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("issue_date", "27/11/2026"), ("due_date", "2026-02-30"), ("customer_id", "cus 1"), ("tips", "yes")],
)
def test_when_an_invoice_field_has_the_wrong_type_then_422_naming_it(api, field, value):
    reply = api.post("/invoices", {"name": "x", field: value})

    assert reply.status == 422
    assert field in reply.error_fields


def test_when_several_fields_are_wrong_then_each_is_named_once(api):
    reply = api.post("/invoices", {"name": "", "currency": "XYZ", "lines": [{**LINE, "quantity": "abc"}]})

    assert reply.status == 422
    assert sorted(reply.error_fields) == ["currency", "lines.0.quantity", "name"]


def test_when_an_unknown_top_level_field_is_sent_then_422_naming_it(api):
    reply = api.post("/invoices", {**SPEC_INVOICE, "colour": "red"})

    assert reply.status == 422
    assert reply.error_fields == ["colour"]


# -- limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "N" * 201}, "name"),
        ({"name": "x", "notes": "n" * 5001}, "notes"),
        ({"name": "x", "terms": "t" * 5001}, "terms"),
        ({"name": "x", "lines": [{**LINE, "description": "d" * 5001}]}, "lines.0.description"),
        ({"name": "x", "lines": [{**LINE, "name": "l" * 201}]}, "lines.0.name"),
    ],
)
def test_when_a_string_is_over_its_limit_then_422_naming_it(api, body, field):
    reply = api.post("/invoices", body)

    assert reply.status == 422
    assert reply.error_fields == [field]


def test_when_strings_are_exactly_at_their_limits_then_201(api):
    body = {"name": "N" * 200, "notes": "n" * 5000, "lines": [{**LINE, "description": "d" * 5000}]}

    reply = api.post("/invoices", body)

    assert reply.status == 201, reply.body
    assert reply.body["notes"] == "n" * 5000


def test_when_1001_lines_then_4xx_naming_lines_and_nothing_stored(api):
    reply = api.post("/invoices", {"name": "x", "lines": [LINE] * 1001})

    assert 400 <= reply.status < 500
    assert reply.error_fields == ["lines"]
    assert api.get("/invoices").body["items"] == []


def test_when_1000_lines_then_201_with_exact_totals(api):
    reply = api.post("/invoices", {"name": "x", "lines": [{"name": "l", "unit_price": "0.01"}] * 1000})

    assert reply.status == 201, reply.body
    assert len(reply.body["lines"]) == 1000
    assert reply.body["totals"]["subtotal"] == "10.00"


def test_when_the_body_is_over_1_mb_then_413_saying_so(api):
    body = {"name": "x", "notes": "n" * 1_100_000}

    reply = api.post("/invoices", body)

    assert reply.status == 413
    assert reply.body["error"]["code"] == "too_large"
    assert "1 MB" in reply.body["error"]["message"]


def test_when_the_body_is_over_1_mb_of_multibyte_text_then_413(api):
    """1.45 MB of UTF-8 in 0.75 million characters: the limit is on bytes."""
    lines = [{**LINE, "description": "é" * 700}] * 1000
    raw = json.dumps({"name": "x", "lines": lines}, ensure_ascii=False)
    assert len(raw.encode()) > 1_400_000

    reply = api.post("/invoices", raw=raw)

    assert reply.status == 413, reply.status
    assert api.get("/invoices").body["items"] == []


def test_when_an_invoice_under_1_mb_does_not_fit_in_an_item_then_413_not_500(api):
    """Incompressible text: 0.95 MB of body, more than DynamoDB's 400 KB once stored."""
    lines = [{**LINE, "description": secrets.token_hex(450)} for _ in range(1000)]

    reply = api.post("/invoices", {"name": "x", "lines": lines})

    assert reply.status == 413, reply.body
    assert api.get("/invoices").body["items"] == []


# -- currencies and amounts ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/invoices", "/totals"])
def test_when_the_currency_is_unknown_then_422_naming_currency(api, path):
    reply = api.post(path, {**SPEC_INVOICE, "currency": "XYZ"})

    assert reply.status == 422
    assert reply.error_fields == ["currency"]


def test_when_the_currency_is_lowercase_then_422_naming_currency(api):
    reply = api.post("/invoices", {**SPEC_INVOICE, "currency": "eur"})

    assert reply.status == 422
    assert reply.error_fields == ["currency"]


@pytest.mark.parametrize("path", ["/invoices", "/totals"])
def test_when_a_fixed_discount_has_3_decimals_in_eur_then_422_naming_discount_value(api, path):
    reply = api.post(path, {**SPEC_INVOICE, "discount": {"type": "fixed", "value": "10.005"}})

    assert reply.status == 422
    assert reply.error_fields == ["discount.value"]


def test_when_a_fixed_line_discount_has_decimals_in_jpy_then_422_naming_it(api):
    line = {"name": "a", "unit_price": "1000", "discount": {"type": "fixed", "value": "10.5"}}

    reply = api.post("/invoices", {"name": "x", "currency": "JPY", "lines": [line]})

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.discount.value"]


@pytest.mark.parametrize("path", ["/invoices", "/totals"])
def test_when_a_fixed_line_discount_exceeds_the_line_then_422_naming_lines_0_discount_value(api, path):
    line = {"name": "a", "quantity": "2", "unit_price": "10", "discount": {"type": "fixed", "value": "20.01"}}

    reply = api.post(path, {"name": "x", "lines": [line]})

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.discount.value"]


def test_when_a_fixed_line_discount_equals_the_line_then_net_0(api):
    line = {"name": "a", "quantity": "2", "unit_price": "10", "discount": {"type": "fixed", "value": "20.00"}}

    reply = api.post("/invoices", {"name": "x", "lines": [line]})

    assert reply.status == 201
    assert reply.body["lines"][0]["net"] == "0.00"


def test_when_the_invoice_fixed_discount_exceeds_the_subtotal_then_422_naming_discount_value(api):
    reply = api.post("/invoices", {"name": "x", "lines": [LINE], "discount": {"type": "fixed", "value": "100.01"}})

    assert reply.status == 422
    assert reply.error_fields == ["discount.value"]


def test_when_amounts_are_json_numbers_then_they_are_read_exactly(api):
    raw = '{"name": "x", "lines": [{"name": "a", "quantity": 0.1, "unit_price": 1234.5678}]}'

    reply = api.post("/invoices", raw=raw)

    assert reply.status == 201, reply.body
    line = reply.body["lines"][0]
    assert line["quantity"] == "0.1"
    assert line["unit_price"] == "1234.5678"
    assert line["net"] == "123.46"  # 123.45678


@pytest.mark.parametrize(("price", "net"), [("1.005", "1.01"), ("2.675", "2.68"), ("0.125", "0.13")])
@pytest.mark.parametrize("path", ["/invoices", "/totals"])
def test_when_a_json_number_sits_on_a_half_cent_then_it_rounds_half_up_exactly(api, path, price, net):
    """As binary floats 1.005, 2.675 and 0.125 are below or on the half: a float would round them down."""
    raw = '{"name": "x", "lines": [{"name": "a", "quantity": 1, "unit_price": ' + price + "}]}"

    reply = api.post(path, raw=raw)

    assert reply.status in (200, 201), reply.body
    totals = reply.body.get("totals", reply.body)
    assert totals["subtotal"] == net


def test_when_ten_lines_of_0_10_then_subtotal_is_exactly_1_00(api):
    raw = json.dumps({"name": "x", "lines": [{"name": "a", "unit_price": "0.1"}] * 10})
    raw = raw.replace('"0.1"', "0.1")

    reply = api.post("/totals", raw=raw)

    assert reply.body["subtotal"] == "1.00"


def test_when_a_unit_price_is_sent_as_the_json_number_450_then_it_reads_back_as_450_00(api):
    """Responses carry amounts as strings with the currency's decimals (SPEC §6.1),
    as products already do."""
    reply = api.post("/invoices", raw='{"name": "x", "lines": [{"name": "a", "unit_price": 450}]}')

    assert reply.status == 201
    assert reply.body["lines"][0]["unit_price"] == "450.00"


# -- headers and queries -------------------------------------------------------------


def test_when_if_match_is_not_a_number_then_400_naming_it(api):
    draft = api.post("/invoices", {"name": "x"}).body

    reply = api.patch(f"/invoices/{draft['id']}", {"notes": "y"}, headers={"If-Match": "abc"})

    assert reply.status == 400
    assert reply.error_fields == ["If-Match"]


def test_when_a_path_id_is_over_64_characters_then_4xx_not_500(api):
    reply = api.get("/invoices/" + "i" * 65)

    assert 400 <= reply.status < 500


def test_when_business_body_has_wrong_types_then_422_not_500(api):
    reply = api.put("/business", {**BUSINESS, "payment_terms_days": "thirty", "address": "Paris"})

    assert reply.status == 422
    assert set(reply.error_fields) == {"payment_terms_days", "address"}


# -- found in review: inputs that reached a 500 -------------------------------------


@pytest.mark.parametrize("path", ["/invoices", "/totals"])
def test_when_an_integer_has_over_4300_digits_then_400_not_500(api, path):
    raw = '{"name": "x", "lines": [{"name": "a", "unit_price": ' + "9" * 5000 + "}]}"

    reply = api.call("POST", path, raw=raw)

    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("value", ["²", "1" * 4301, "-1", "1.5"])
def test_when_if_match_is_not_a_plain_version_number_then_400(api, value):
    draft = api.post("/invoices", {"name": "x"}).body

    reply = api.patch(f"/invoices/{draft['id']}", {"notes": "n"}, headers={"If-Match": value})

    assert reply.status == 400, reply.body
    assert reply.error_fields == ["If-Match"]


def test_when_a_cursor_is_deeply_nested_json_then_400(api):
    import base64

    cursor = base64.urlsafe_b64encode(b"[" * 1536).decode().rstrip("=")

    reply = api.get(f"/invoices?cursor={cursor}")

    assert reply.status == 400, reply.body
    assert reply.error_fields == ["cursor"]


def test_when_a_cursor_of_one_listing_is_used_on_another_then_400(api):
    """A status=draft cursor must not be replayed on the overdue listing
    (real DynamoDB refuses a start key outside the key condition: a 500)."""
    for n in range(3):
        api.post("/invoices", {"name": f"d{n}"})
    cursor = api.get("/invoices?status=draft&limit=1").body["next_cursor"]
    assert cursor

    assert api.get(f"/invoices?status=draft&limit=1&cursor={cursor}").status == 200
    for other in ("/invoices?overdue=true", "/invoices?customer_id=cus_1", "/invoices", "/customers"):
        reply = api.get(f"{other}{'&' if '?' in other else '?'}cursor={cursor}")
        assert reply.status == 400, (other, reply.body)
        assert reply.error_fields == ["cursor"]


def test_when_two_taxes_differ_only_by_case_then_422(api):
    line = {"name": "a", "unit_price": "1", "taxes": [{"name": "TVA", "rate": "20"}, {"name": "tva", "rate": "20"}]}

    reply = api.post("/totals", {"lines": [line]})

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["lines.0.taxes"]


def test_when_a_name_normalizes_beyond_a_dynamodb_key_then_it_is_still_stored_and_unique(api):
    name = "㍿" * 200  # NFKC turns each into 株式会社: 2,400 bytes, over the 1 KB sort-key limit

    first = api.post("/customers", {"name": name})
    second = api.post("/customers", {"name": name})

    assert first.status == 201, first.body
    assert second.status == 409


@pytest.mark.parametrize("field", ["issue_date", "due_date"])
@pytest.mark.parametrize("value", ["9999-12-20", "0001-01-01"])
def test_when_a_date_is_outside_any_real_invoice_then_422_naming_it(api, field, value):
    """Far dates once overflowed the default due date (issue date + terms): a 500."""
    reply = api.post("/invoices", {"name": "x", field: value})

    assert reply.status == 422, reply.body
    assert reply.error_fields == [field]


# -- what a reader cannot see, what is not one address (issue 19 §6, SPEC §15) --------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/customers", {"name": "Dupont\u200b & Fils"}, "name"),  # a look-alike of "Dupont & Fils"
        ("/customers", {"name": "Dupont & Fils", "email": "a@b.example,c"}, "email"),
        ("/customers", {"name": "Dupont & Fils", "email": "evil<a@b.example>"}, "email"),
        ("/products", {"name": "Conseil\u202e", "unit_price": "100"}, "name"),
        ("/invoices", {"name": "Site\u2066web", "lines": [LINE]}, "name"),
        ("/invoices", {"name": "Site web", "lines": [{**LINE, "name": "Con\u00adseil"}]}, "lines.0.name"),
        ("/templates", {"name": "Mensuel\ufeff"}, "name"),
    ],
    ids=["zero-width space", "a comma", "a display name", "a right-to-left override", "an isolate", "a soft hyphen",
         "a byte order mark"],
)  # fmt: skip
def test_when_a_name_hides_a_character_or_an_address_is_not_one_then_422_naming_it_and_nothing_stored(
    api, path, body, field
):
    reply = api.post(path, body)

    assert reply.status == 422, reply.body
    assert reply.error_fields == [field]
    assert api.get(path).body["items"] == []


def test_when_the_legal_name_hides_a_character_then_422_and_the_business_unchanged(api):
    reply = api.put("/business", {**BUSINESS, "legal_name": "Acme\u200d SAS"})

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["legal_name"]
    assert api.get("/business").body["version"] == 0


def test_when_an_attachment_name_carries_a_right_to_left_override_then_422_and_nothing_reserved(api):
    draft = api.post("/invoices", {"name": "Site web", "lines": [LINE]}).body

    reply = api.post(
        f"/invoices/{draft['id']}/attachments",
        {"filename": "facture\u202eexe.pdf", "content_type": "application/pdf", "size": 1000},
    )

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["filename"]
    assert api.get(f"/invoices/{draft['id']}/attachments").body["items"] == []
    assert api.objects() == {}
