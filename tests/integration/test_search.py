"""Search and sort of lists through the API (SPEC §14, first bullet):
`q` on invoices, estimates, customers, products and templates (any case,
any accent, every word required), issue and due date ranges (both ends
included; issued documents only for the issue dates), every `sort`, and
their pages. The tests marked for both run on the fakes and on moto: the
DynamoDB adapter answers what the fake does."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN

pytestmark = pytest.mark.integration

BOTH = ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)]
OTHER = "other"


def new_customer(api: Any, name: str, tenant: str = "acme", **fields: Any) -> dict[str, Any]:
    reply = api.post("/customers", {"name": name, "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN, **fields},
                     tenant=tenant)  # fmt: skip
    assert reply.status == 201, reply.body
    return reply.body


def new_draft(api: Any, name: str, customer: dict[str, Any] | None, price: str, tenant: str = "acme",
              **fields: Any) -> dict[str, Any]:  # fmt: skip
    body = {"name": name, "customer_id": customer and customer["id"],
            "lines": [{"name": "Prestation", "unit_price": price}], **fields}  # fmt: skip
    reply = api.post("/invoices", body, tenant=tenant)
    assert reply.status == 201, reply.body
    return reply.body


def issue(api: Any, doc: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
    reply = api.post(f"/invoices/{doc['id']}/mark-sent", tenant=tenant)
    assert reply.status == 200, reply.body
    return reply.body


def listed(api: Any, path: str, tenant: str = "acme") -> list[str]:
    """The ids of every page of a list, in order, each page asked with the last one's next_cursor."""
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        sep = "&" if "?" in path else "?"
        reply = api.get(f"{path}{sep}cursor={cursor}" if cursor else path, tenant=tenant)
        assert reply.status == 200, reply.body
        ids += [item["id"] for item in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


@pytest.fixture
def books(api: Any) -> dict[str, Any]:
    """acme's invoices, created in the order below, issued by date:

    key  name          customer          issued       number  due          amount due
    a    Brouillon été Société Générale  (draft, dated 2026-01-12)  2026-03-15   1000.00
    b    Site web      Dupont & Fils     2026-01-05   INV-1   2026-02-04    100.00
    c    Maintenance   Société Générale  2026-01-10   INV-2   2026-02-09    300.00
    d    Audit         Dupont & Fils     2026-01-15   INV-4   2026-03-01     50.00
    e    Formation     Martin SARL       2026-01-15   INV-5   2026-02-20    200.00
    f    Hébergement   Société Générale  2026-01-15   INV-3   2026-02-14    400.00
    g    Annulée       Dupont & Fils     2026-01-20   INV-6   2026-02-19      0.00 (void)
    h    Conseil       Martin SARL       2026-01-25   INV-7   2026-02-24    250.00 (250 paid)

    d, e and f share a day and were created in that order, but f was
    issued first: the day's numbers are INV-3 (f), INV-4 (d), INV-5 (e).
    """
    assert api.put("/business", BUSINESS).status == 200
    sg = new_customer(api, "Société Générale", email="compta@sg.example")
    dupont = new_customer(api, "Dupont & Fils", email="compta@dupont.example")
    martin = new_customer(api, "Martin SARL")
    made = {
        "a": new_draft(api, "Brouillon été", sg, "1000", issue_date="2026-01-12", due_date="2026-03-15"),
        "b": new_draft(api, "Site web", dupont, "100", issue_date="2026-01-05", due_date="2026-02-04"),
        "c": new_draft(api, "Maintenance", sg, "300", issue_date="2026-01-10", due_date="2026-02-09"),
        "d": new_draft(api, "Audit", dupont, "50", issue_date="2026-01-15", due_date="2026-03-01"),
        "e": new_draft(api, "Formation", martin, "200", issue_date="2026-01-15", due_date="2026-02-20"),
        "f": new_draft(api, "Hébergement", sg, "400", issue_date="2026-01-15", due_date="2026-02-14"),
        "g": new_draft(api, "Annulée", dupont, "150", issue_date="2026-01-20", due_date="2026-02-19"),
        "h": new_draft(api, "Conseil", martin, "500", issue_date="2026-01-25", due_date="2026-02-24"),
    }
    numbers = {key: issue(api, made[key])["number"] for key in "bcfdegh"}
    assert numbers == {"b": "INV-1", "c": "INV-2", "f": "INV-3", "d": "INV-4", "e": "INV-5", "g": "INV-6",
                       "h": "INV-7"}  # fmt: skip
    assert api.post(f"/invoices/{made['g']['id']}/void").status == 200
    assert api.post(f"/invoices/{made['h']['id']}/payments", {"method": "cash", "amount": "250"}).status == 201
    return {"ids": {key: doc["id"] for key, doc in made.items()}, "sg": sg, "dupont": dupont, "martin": martin}


def keys(books: dict[str, Any], found: list[str]) -> str:
    """The books' keys of the ids found, in their order ("bcf")."""
    by_id = {id: key for key, id in books["ids"].items()}
    return "".join(by_id.get(id, "?") for id in found)


# -- q ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("SOCIÉTÉ générale", "acf"),  # the draft by its customer's name, the issued by their snapshot
        ("societe GENERALE", "acf"),
        ("Générale", "acf"),
        ("hebergement", "f"),
        ("HÉBERG", "f"),
        ("inv-3", "f"),
        ("INV-", "bcdefgh"),  # drafts have no number
        ("Dupont & Fils", "bdg"),
        ("dupont site", "b"),
        ("dupont maintenance", ""),  # every word, or nothing
        ("brouillon ETE", "a"),
        ("Martin conseil INV-7", "h"),
        ("zzz", ""),
    ],
)
def test_given_any_case_or_accents_when_q_then_number_name_and_customer_name_match(api, books, q, expected):
    from urllib.parse import quote

    found = listed(api, f"/invoices?q={quote(q)}")

    assert sorted(keys(books, found)) == sorted(expected)


@pytest.mark.parametrize("where", BOTH)
def test_given_a_draft_when_searched_by_its_customers_name_then_found_and_summarized_with_it(api, books, where):
    reply = api.get("/invoices?q=soci%C3%A9t%C3%A9%20G%C3%89N%C3%89RALE&limit=50")

    assert reply.status == 200, reply.body
    summaries = {item["id"]: item for item in reply.body["items"]}
    assert sorted(keys(books, list(summaries))) == ["a", "c", "f"]
    assert summaries[books["ids"]["a"]]["customer_name"] == "Société Générale"  # a draft shows the name kept
    assert summaries[books["ids"]["a"]]["status"] == "draft"
    assert "draft_customer_name" not in summaries[books["ids"]["a"]]
    assert all(item["customer_name"] == "Société Générale" for item in summaries.values())


def test_given_issued_invoices_when_their_customer_is_renamed_then_found_by_the_snapshot_not_the_new_name(api, books):
    """An issued invoice is its snapshot: the name printed on it finds it, a later name does not."""
    dupont = books["dupont"]
    renamed = api.patch(f"/customers/{dupont['id']}", {"name": "Durand Frères", "version": dupont["version"]})
    assert renamed.status == 200, renamed.body
    later = new_draft(api, "Nouvelle mission", renamed.body, "10")

    assert sorted(keys(books, listed(api, "/invoices?q=dupont"))) == sorted("bdg")
    assert listed(api, "/invoices?q=durand") == [later["id"]]  # the draft chosen since: by the new name


def test_given_a_draft_when_its_customer_is_changed_then_found_by_the_new_customers_name(api, books):
    draft = api.get(f"/invoices/{books['ids']['a']}").body

    reply = api.patch(f"/invoices/{draft['id']}", {"customer_id": books["martin"]["id"], "version": draft["version"]})

    assert reply.status == 200, reply.body
    assert draft["id"] in listed(api, "/invoices?q=martin")
    assert draft["id"] not in listed(api, "/invoices?q=generale")
    edited = api.patch(f"/invoices/{draft['id']}", {"notes": "Relu", "version": reply.body["version"]})
    assert edited.status == 200, edited.body
    assert draft["id"] in listed(api, "/invoices?q=martin")  # an edit that keeps the customer keeps the name


def test_given_a_q_beyond_100_characters_then_4xx_not_500(api, books):
    reply = api.get(f"/invoices?q={'a' * 101}")

    assert 400 <= reply.status < 500, reply.body


# -- date ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", BOTH)
def test_given_an_issued_range_then_issued_invoices_of_those_days_both_included_never_a_draft(api, books, where):
    """Draft a says 2026-01-12, inside the range: a draft is not issued, so never in it."""
    found = listed(api, "/invoices?issued_from=2026-01-10&issued_to=2026-01-15&sort=issue_date&limit=2")

    assert keys(books, found) == "cfde"
    assert sorted(keys(books, listed(api, "/invoices?issued_from=2026-01-10&issued_to=2026-01-15"))) == list("cdef")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("issued_from=2026-01-16", "gh"),
        ("issued_to=2026-01-05", "b"),
        ("issued_from=2026-01-15&issued_to=2026-01-15", "def"),
        ("issued_from=2026-01-26", ""),
        ("issued_to=2026-01-04", ""),
        ("due_from=2026-02-09&due_to=2026-02-20", "cefg"),  # both ends included
        ("due_from=2026-03-01", "ad"),  # a draft has its due date too
        ("due_to=2026-02-04", "b"),
        ("q=dupont&issued_from=2026-01-15", "dg"),
        ("status=open&issued_from=2026-01-15", "def"),  # h is partially paid, g void
        ("issued_from=2026-01-10&due_to=2026-02-14&q=g%C3%A9n%C3%A9rale", "cf"),
    ],
)
def test_given_the_books_when_narrowed_by_dates_then_only_those(api, books, query, expected):
    assert sorted(keys(books, listed(api, f"/invoices?{query}"))) == sorted(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("issued_from=2026-02-01&issued_to=2026-01-31", "issued_from"),
        ("due_from=2026-03-01&due_to=2026-02-28", "due_from"),
    ],
)
def test_given_a_range_that_ends_before_it_starts_then_422_naming_its_start(api, books, query, field):
    reply = api.get(f"/invoices?{query}")

    assert reply.status == 422, reply.body
    assert reply.error_fields == [field]


@pytest.mark.parametrize(
    "query",
    [
        "issued_from=2026-13-01",
        "issued_to=2026-02-30",
        "due_from=yesterday",
        "due_to=01/02/2026",
        "issued_from=2026-1-5",
        "sort=total",
        "sort=due",
        "sort=-",
    ],
)
def test_given_a_date_or_sort_that_is_not_one_then_4xx_not_500(api, books, query):
    reply = api.get(f"/invoices?{query}")

    assert 400 <= reply.status < 500, reply.body


# -- sort ------------------------------------------------------------------------------------


ISSUED_ORDER = "bcfdegha"  # by day, then number (f before d and e, created after them); drafts after
DUE_ORDER = "bcfgehda"
AMOUNT_ORDER = "gdbehcfa"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("issue_date", ISSUED_ORDER),
        ("-issue_date", ISSUED_ORDER[::-1]),  # drafts first
        ("number", ISSUED_ORDER),
        ("-number", ISSUED_ORDER[::-1]),
        ("due_date", DUE_ORDER),
        ("-due_date", DUE_ORDER[::-1]),
        ("amount_due", AMOUNT_ORDER),  # 0.00 (void) < 50.00 < 100.00 < … < 1000.00: by value, not as text
        ("-amount_due", AMOUNT_ORDER[::-1]),
    ],
)
@pytest.mark.parametrize("limit", [3, 50])
def test_given_the_books_when_sorted_then_in_that_order_every_invoice_once(api, books, sort, expected, limit):
    assert keys(books, listed(api, f"/invoices?sort={sort}&limit={limit}")) == expected


@pytest.mark.parametrize("where", BOTH)
@pytest.mark.parametrize("sort", ["issue_date", "-number", "amount_due", "-due_date"])
def test_given_the_books_when_sorted_and_paged_one_by_one_then_each_invoice_once_in_order(api, books, sort, where):
    found = listed(api, f"/invoices?sort={sort}&limit=1")
    whole = api.get(f"/invoices?sort={sort}&limit=200").body["items"]

    assert found == [item["id"] for item in whole]
    assert sorted(found) == sorted(books["ids"].values())


def test_given_amounts_when_sorted_then_the_amounts_shown_are_in_order(api, books):
    items = api.get("/invoices?sort=-amount_due").body["items"]

    shown = [Decimal(item["amount_due"]) for item in items]
    assert shown == sorted(shown, reverse=True)
    assert (shown[0], shown[-1]) == (Decimal("1000.00"), Decimal("0.00"))


def test_given_sorts_then_they_narrow_like_any_list(api, books):
    assert keys(books, listed(api, f"/invoices?customer_id={books['sg']['id']}&sort=-issue_date")) == "afc"
    assert keys(books, listed(api, "/invoices?overdue=true&sort=amount_due&limit=2")) == "dbehcf"  # g void, a draft
    assert keys(books, listed(api, "/invoices?q=dupont&sort=due_date")) == "bgd"
    assert keys(books, listed(api, "/invoices?status=draft&sort=issue_date")) == "a"


def test_given_eleven_invoices_of_one_day_when_sorted_by_number_then_inv_10_follows_inv_9(api):
    """Numbers within a day follow their sequence, not their text ("INV-10" < "INV-9") nor their creation."""
    assert api.put("/business", BUSINESS).status == 200
    client = new_customer(api, "Client")
    drafts = [new_draft(api, f"Facture {n}", client, "10", issue_date="2026-03-02") for n in range(11)]
    numbered = {issue(api, draft)["number"]: draft["id"] for draft in reversed(drafts)}  # the last made is INV-1
    in_order = [numbered[f"INV-{n}"] for n in range(1, 12)]

    assert listed(api, "/invoices?sort=number&limit=4") == in_order
    assert listed(api, "/invoices?sort=-issue_date&limit=5") == in_order[::-1]
    assert listed(api, "/invoices?q=INV-1&sort=number") == [in_order[0], in_order[9], in_order[10]]


# -- cursors ---------------------------------------------------------------------------------


# On the fakes: the adapter's own refusal of a cursor from another listing is the store contract's, on moto.
@pytest.mark.parametrize(
    ("issued_by", "used_with"),
    [
        ("/invoices?sort=amount_due&limit=2", "/invoices?sort=-amount_due&limit=2"),
        ("/invoices?sort=amount_due&limit=2", "/invoices?sort=issue_date&limit=2"),
        ("/invoices?sort=issue_date&limit=2", "/invoices?sort=-issue_date&limit=2"),
        ("/invoices?sort=issue_date&limit=2", "/invoices?limit=2"),
        ("/invoices?limit=2", "/invoices?sort=due_date&limit=2"),
        ("/invoices?sort=issue_date&limit=1", "/invoices?issued_from=2026-01-10&sort=issue_date&limit=2"),
        ("/invoices?sort=issue_date&limit=2", "/estimates?sort=issue_date&limit=2"),
    ],
)
def test_given_a_cursor_of_one_list_when_used_with_another_then_400_naming_cursor(api, books, issued_by, used_with):
    cursor = api.get(issued_by).body["next_cursor"]
    assert cursor is not None

    reply = api.get(f"{used_with}&cursor={cursor}")

    assert reply.status == 400, reply.body  # a cursor this list did not give is a malformed request
    assert reply.error_fields == ["cursor"]


def test_given_a_narrowed_search_when_paged_then_its_cursor_resumes_it(api, books):
    found = listed(api, "/invoices?q=INV-&issued_from=2026-01-10&issued_to=2026-01-25&sort=number&limit=2")

    assert keys(books, found) == "cfdegh"


# -- customers, products, templates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("SOCIÉTÉ", ["Société Générale"]),
        ("generale", ["Société Générale"]),
        ("dupont.example", ["Dupont & Fils"]),  # by e-mail
        ("compta", ["Dupont & Fils", "Société Générale"]),
        ("générale martin", []),
        ("sarl", ["Martin SARL"]),
    ],
)
def test_given_customers_when_q_then_by_name_or_email_any_case_or_accent(api, books, q, expected):
    from urllib.parse import quote

    found = []
    cursor = None
    while True:
        reply = api.get(f"/customers?q={quote(q)}&limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.body
        found += [item["name"] for item in reply.body["items"]]
        if not (cursor := reply.body["next_cursor"]):
            break

    assert sorted(found) == expected


@pytest.mark.parametrize("where", BOTH)
def test_given_products_and_templates_when_q_then_by_name_any_case_or_accent(api, where):
    for name in ("Hébergement", "Développement web", "Audit", "Maintenance web"):
        assert api.post("/products", {"name": name, "unit_price": "100"}).status == 201
    for name in ("Abonnement mensuel", "Forfait trimestriel"):
        assert api.post("/templates", {"name": name, "lines": [{"name": "x", "unit_price": "1"}]}).status == 201

    def names(path: str) -> list[str]:
        reply = api.get(path)
        assert reply.status == 200, reply.body
        return sorted(item["name"] for item in reply.body["items"])

    assert names("/products?q=HEBERGEMENT") == ["Hébergement"]
    assert names("/products?q=d%C3%A9v%20WEB") == ["Développement web"]
    assert names("/products?q=web") == ["Développement web", "Maintenance web"]
    assert names("/products?q=web%20audit") == []
    assert len(names("/products")) == 4
    assert names("/templates?q=Mensuel") == ["Abonnement mensuel"]
    assert names("/templates?q=forfait%20TRIM") == ["Forfait trimestriel"]


# -- estimates ---------------------------------------------------------------------------------


TODAY = date.today()


def in_days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@pytest.fixture
def quotes(api: Any) -> dict[str, str]:
    """acme's estimates: e1 a draft for Société Générale; sent, e2 (D-1,
    2026-01-05), then e3 (D-2) and e4 (D-3) both on 2026-01-10, e4 created
    before e3. Valid until: e2 in 10 days, e3 in 20, e1 in 30, e4 in 40."""
    assert api.put("/business", BUSINESS).status == 200
    sg, dupont = new_customer(api, "Société Générale"), new_customer(api, "Dupont & Fils")
    lines = [{"name": "Pose", "unit_price": "500", "taxes": [{"name": "TVA", "rate": "10"}]}]

    def estimate(name: str, customer: dict[str, Any], **fields: Any) -> str:
        reply = api.post("/estimates", {"name": name, "customer_id": customer["id"], "lines": lines, **fields})
        assert reply.status == 201, reply.body
        return str(reply.body["id"])

    made = {
        "e1": estimate("Salle de bains", sg, valid_until=in_days(30)),
        "e2": estimate("Cuisine", dupont, issue_date="2026-01-05", valid_until=in_days(10)),
        "e4": estimate("Façade", dupont, issue_date="2026-01-10", valid_until=in_days(40)),
        "e3": estimate("Toiture", sg, issue_date="2026-01-10", valid_until=in_days(20)),
    }
    for key, number in (("e2", "D-1"), ("e3", "D-2"), ("e4", "D-3")):
        reply = api.post(f"/estimates/{made[key]}/mark-sent")
        assert reply.status == 200, reply.body
        assert reply.body["number"] == number
    return made


def named(quotes: dict[str, str], found: list[str]) -> list[str]:
    by_id = {id: key for key, id in quotes.items()}
    return [by_id.get(id, "?") for id in found]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=SOCIETE", ["e1", "e3"]),  # the draft by its customer's name
        ("q=fa%C3%A7ade", ["e4"]),
        ("q=FACADE", ["e4"]),
        ("q=d-2", ["e3"]),
        ("q=dupont%20cuisine", ["e2"]),
        ("issued_from=2026-01-10&issued_to=2026-01-10", ["e3", "e4"]),  # the day included, never the draft
        ("issued_to=2026-01-09", ["e2"]),
    ],
)
def test_given_estimates_when_searched_then_only_those(api, quotes, query, expected):
    assert sorted(named(quotes, listed(api, f"/estimates?{query}"))) == expected


def test_given_estimates_when_valid_range_then_on_their_last_valid_day_both_included(api, quotes):
    found = listed(api, f"/estimates?valid_from={in_days(20)}&valid_to={in_days(40)}&sort=due_date")

    assert named(quotes, found) == ["e3", "e1", "e4"]
    assert named(quotes, listed(api, f"/estimates?valid_to={in_days(10)}")) == ["e2"]


@pytest.mark.parametrize("where", BOTH)
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("issue_date", ["e2", "e3", "e4", "e1"]),  # D-2 before D-3 on their day, whichever was made first
        ("-number", ["e1", "e4", "e3", "e2"]),
        ("due_date", ["e2", "e3", "e1", "e4"]),  # the last valid day
        ("-due_date", ["e4", "e1", "e3", "e2"]),
    ],
)
def test_given_estimates_when_sorted_then_in_that_order_each_once(api, quotes, sort, expected, where):
    assert named(quotes, listed(api, f"/estimates?sort={sort}&limit=1")) == expected


def test_given_estimates_summaries_then_a_draft_shows_its_customers_name(api, quotes):
    items = {item["id"]: item for item in api.get("/estimates?q=salle").body["items"]}

    assert items[quotes["e1"]]["customer_name"] == "Société Générale"
    assert "draft_customer_name" not in items[quotes["e1"]]


def test_given_a_valid_range_that_ends_before_it_starts_then_422_naming_valid_from(api, quotes):
    """The estimates' range is asked as valid_from/valid_to: the error names what the client sent."""
    reply = api.get(f"/estimates?valid_from={in_days(20)}&valid_to={in_days(10)}")

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["valid_from"]


def test_given_an_issued_range_of_estimates_that_ends_before_it_starts_then_422_naming_issued_from(api, quotes):
    reply = api.get("/estimates?issued_from=2026-01-11&issued_to=2026-01-10")

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["issued_from"]


# -- isolation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("where", BOTH)
def test_given_two_tenants_alike_when_either_searches_then_it_never_sees_the_others(api, books, where):
    """Another tenant with the same customer, the same names, numbers and days."""
    assert api.put("/business", BUSINESS, tenant=OTHER).status == 200
    theirs_sg = new_customer(api, "Société Générale", tenant=OTHER, email="compta@sg.example")
    theirs = [
        issue(api, new_draft(api, "Maintenance", theirs_sg, "300", tenant=OTHER, issue_date="2026-01-10",
                             due_date="2026-02-09"), tenant=OTHER)["id"],
        new_draft(api, "Hébergement", theirs_sg, "400", tenant=OTHER, due_date="2026-02-14")["id"],
    ]  # fmt: skip
    assert api.post("/products", {"name": "Hébergement", "unit_price": "1"}, tenant=OTHER).status == 201
    mine = set(books["ids"].values())
    searches = [
        "/invoices?q=societe",
        "/invoices?q=INV-1",
        "/invoices?q=maintenance",
        "/invoices?issued_from=2026-01-01&issued_to=2026-12-31",
        "/invoices?due_from=2026-02-01&due_to=2026-02-28",
        "/invoices?sort=amount_due",
        "/invoices?sort=-issue_date",
        "/invoices?sort=due_date&q=g%C3%A9n%C3%A9rale",
    ]

    for search in searches:
        assert set(listed(api, search)) <= mine, search
        assert set(listed(api, search, tenant=OTHER)) <= set(theirs), search
    assert set(listed(api, "/invoices?q=maintenance", tenant=OTHER)) == {theirs[0]}
    assert listed(api, "/invoices?sort=-number", tenant=OTHER) == theirs[::-1]  # the draft first
    assert [c["id"] for c in api.get("/customers?q=societe").body["items"]] == [books["sg"]["id"]]
    assert [c["id"] for c in api.get("/customers?q=societe", tenant=OTHER).body["items"]] == [theirs_sg["id"]]
    assert api.get("/products?q=hebergement").body["items"] == []
