"""What a list's `q` finds (SPEC §14, domain.search): words folded as a
person reads them — any case, any accent, ligatures spelled out — each
of them part of a document's number, name or customer's name; and how
a search's ranges and sorts reach the store (logic.listing)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from invoicing.domain.errors import InvalidInput
from invoicing.domain.search import MAX_WORDS, due_of, fold, matches, searchable, words
from invoicing.logic import listing
from invoicing.logic.listing import MAX_SORTED, Search
from invoicing.ports import InvoiceQuery
from tests.fakes.store import InMemoryStore

pytestmark = pytest.mark.unit


def issued(number: str, customer: str, name: str = "Site web") -> dict[str, Any]:
    """An issued invoice as stored: its number, its name, its customer's snapshot."""
    return {"id": "inv_1", "number": number, "name": name, "status": "open", "customer": {"name": customer}}


# -- fold --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["Société Générale", "SOCIETE generale", "société générale", "SOCIÉTÉ GÉNÉRALE", "  Société \t Générale "],
)
def test_given_any_case_and_accents_when_folded_then_the_same_words(typed):
    assert fold(typed) == "societe generale"


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Œuvre", "oeuvre"),
        ("cœur", "coeur"),
        ("ÆSOP", "aesop"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("ﬁnance", "finance"),  # the typographic ligature fi
        ("Ｄｕｐｏｎｔ", "dupont"),  # full-width letters
        ("Noël\u00a0&\u00a0Fils", "noel & fils"),  # non-breaking spaces are spaces
        ("Man\u0303ana", "manana"),  # a combining tilde typed apart
    ],
)
def test_given_ligatures_sharp_s_and_odd_spaces_when_folded_then_spelled_out_plainly(typed, folded):
    assert fold(typed) == folded


def test_given_nothing_but_spaces_when_folded_then_empty():
    assert fold(" \t\n ") == ""


# -- words -------------------------------------------------------------------------------


def test_given_a_query_when_split_then_folded_words_in_their_order_each_once():
    assert words("Générale  SOCIÉTÉ generale inv-4") == ("generale", "societe", "inv-4")


def test_given_an_empty_query_then_no_words():
    assert words("") == ()
    assert words("   ") == ()


def test_given_more_than_max_words_then_refused_on_q_never_silently_cut():
    """Each word is one more condition on every item read: MAX_WORDS at most.
    Cut silently, a search would find more than was asked: it is refused."""
    assert words(" ".join(f"mot{n}" for n in range(MAX_WORDS))) == tuple(f"mot{n}" for n in range(MAX_WORDS))
    with pytest.raises(InvalidInput) as refused:
        words(" ".join(f"mot{n}" for n in range(MAX_WORDS + 1)))
    assert [error.field for error in refused.value.errors] == ["q"]


def test_given_repeated_words_then_the_cap_counts_distinct_words():
    typed = "Été ete ÉTÉ " + " ".join(f"w{n}" for n in range(MAX_WORDS - 1))

    assert words(typed) == ("ete", *(f"w{n}" for n in range(MAX_WORDS - 1)))


# -- searchable --------------------------------------------------------------------------


def test_given_an_issued_invoice_then_found_by_number_name_and_customer_snapshot():
    assert searchable(issued("INV-42", "Société Générale", "Hébergement Œuvre")) == (
        "inv-42 hebergement oeuvre societe generale"
    )


def test_given_a_draft_then_found_by_the_name_its_customer_had_when_chosen():
    draft = {"id": "inv_1", "number": None, "name": "Brouillon", "status": "draft",
             "draft_customer_name": "Société Générale"}  # fmt: skip

    assert searchable(draft) == "brouillon societe generale"


def test_given_an_issued_invoice_then_its_snapshot_wins_over_the_draft_name():
    """Once issued, the customer is the snapshot the invoice printed, not the name kept while a draft."""
    doc = {**issued("INV-1", "Dupont SA"), "draft_customer_name": "Dupont & Fils"}

    assert "dupont sa" in searchable(doc)
    assert "fils" not in searchable(doc)


def test_given_a_customer_then_found_by_name_legal_name_and_email():
    customer = {"id": "cus_1", "name": "SG", "legal_name": "Société Générale SA", "email": "Compta@SG.example"}

    assert searchable(customer) == "sg societe generale sa compta@sg.example"


def test_given_fields_that_are_not_text_then_they_are_left_out():
    assert searchable({"id": "inv_1", "number": None, "name": "A", "customer": None, "email": 3}) == "a"


# -- matches -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["SOCIETE generale", "société générale", "GÉNÉRALE", "gén", "inv-4", "INV-42", "gén inv-4", "SITE"],
)
def test_given_inv_42_of_societe_generale_when_searched_then_found(query):
    assert matches(issued("INV-42", "Société Générale"), words(query))


def test_given_a_number_when_its_beginning_is_searched_then_every_number_it_begins_is_found():
    """ "inv-4" is part of INV-4, INV-42 and INV-400, not of INV-5."""
    found = [
        number for number in ("INV-4", "INV-42", "INV-400", "INV-5") if matches(issued(number, "X"), words("inv-4"))
    ]

    assert found == ["INV-4", "INV-42", "INV-400"]


@pytest.mark.parametrize("query", ["societe martin", "inv-42 dupont", "générale inv-5"])
def test_given_several_words_when_one_is_missing_then_not_found(query):
    """Every word is required: a query narrows, it never widens."""
    assert not matches(issued("INV-42", "Société Générale"), words(query))


def test_given_several_words_then_their_order_does_not_matter():
    doc = issued("INV-42", "Société Générale")

    assert matches(doc, words("generale societe"))
    assert matches(doc, words("web INV-42 société"))


def test_given_no_words_then_everything_matches():
    assert matches(issued("INV-1", "X"), ())
    assert matches({"id": "prd_1"}, ())


def test_given_words_of_two_fields_then_one_word_does_not_span_them():
    """A word has no space: "42 site" is two words, each found on its own."""
    assert matches(issued("INV-42", "X", "Site"), words("42 site"))
    assert not matches(issued("INV-42", "X", "Site"), words("42site"))


# -- due_of ------------------------------------------------------------------------------


def test_an_invoices_due_day_is_its_due_date_an_estimates_its_last_valid_day():
    assert due_of({"due_date": "2026-02-01", "valid_until": "2026-03-01"}) == "2026-02-01"
    assert due_of({"due_date": None, "valid_until": "2026-03-01"}) == "2026-03-01"
    assert due_of({"due_date": None}) is None


# -- logic.listing: what a search asks the store -----------------------------------------


def test_given_a_search_when_narrowed_then_folded_words_iso_days_and_the_index_order():
    search = Search(
        "Société  INV-4", date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), "-number"
    )

    query = search.narrowed(InvoiceQuery(status="open"))

    assert query == InvoiceQuery(status="open", words=("societe", "inv-4"), issued_from="2026-01-01",
                                 issued_to="2026-01-31", due_from="2026-02-01", due_to="2026-02-28",
                                 order="-issue_date")  # fmt: skip


@pytest.mark.parametrize(
    ("sort", "order"),
    [("issue_date", "issue_date"), ("-issue_date", "-issue_date"), ("number", "issue_date"),
     ("-number", "-issue_date"), ("due_date", None), ("-due_date", None), ("amount_due", None),
     ("-amount_due", None), (None, None)],
)  # fmt: skip
def test_numbers_follow_dates_so_a_number_sort_is_the_date_index_and_other_sorts_none(sort, order):
    assert Search(sort=sort).narrowed(InvoiceQuery()).order == order


@pytest.mark.parametrize(
    ("search", "field"),
    [
        (Search(issued_from=date(2026, 2, 1), issued_to=date(2026, 1, 31)), "issued_from"),
        (Search(due_from=date(2026, 2, 1), due_to=date(2026, 1, 31)), "due_from"),
    ],
)
def test_given_a_range_that_ends_before_it_starts_then_invalid_naming_its_start(search, field):
    with pytest.raises(InvalidInput) as refused:
        search.narrowed(InvoiceQuery())

    assert [error.field for error in refused.value.errors] == [field]


def test_given_a_one_day_range_then_accepted():
    day = date(2026, 1, 15)

    assert Search(issued_from=day, issued_to=day).narrowed(InvoiceQuery()).issued_to == "2026-01-15"


def store_of(amounts: list[str]) -> Any:
    """What logic.listing needs of Deps (a store), holding one open invoice per amount due."""
    store = InMemoryStore()
    for n, amount in enumerate(amounts):
        doc = {"id": f"inv_{n:05d}", "name": f"F{n}", "status": "open", "version": 1, "amount_due": amount,
               "due_date": f"2026-02-{1 + n % 28:02d}"}  # fmt: skip
        store.create("acme", "invoice", doc, name=None)
    return SimpleNamespace(store=store)


def every_sorted(deps: Any, search: Search, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = listing.find(deps, "acme", "invoice", InvoiceQuery(), search, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        ids += [doc["id"] for doc in page.items]
        if page.cursor is None:
            return ids
        cursor = page.cursor


def test_given_amounts_when_sorted_by_amount_due_then_by_value_not_text_and_paged_once_each():
    deps = store_of(["100.00", "9.50", "1000.00", "25.00", "9.50"])

    ascending = every_sorted(deps, Search(sort="amount_due"), limit=2)
    descending = every_sorted(deps, Search(sort="-amount_due"), limit=2)

    assert ascending == ["inv_00001", "inv_00004", "inv_00003", "inv_00000", "inv_00002"]  # ties by id
    assert descending == ascending[::-1]


def test_given_max_sorted_matches_then_sorted_and_one_more_then_refused_on_sort():
    """A sort by amount or due date reads every match: at most MAX_SORTED, else 422 on `sort`."""
    deps = store_of(["1.00"] * MAX_SORTED)
    assert len(every_sorted(deps, Search(sort="due_date"), limit=200)) == MAX_SORTED

    deps.store.create("acme", "invoice", {"id": "inv_99999", "name": "x", "status": "open", "version": 1,
                                          "amount_due": "1.00"}, name=None)  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        listing.find(deps, "acme", "invoice", InvoiceQuery(), Search(sort="-amount_due"), limit=10, cursor=None)

    assert [error.field for error in refused.value.errors] == ["sort"]
    narrowed = Search(q="F1", sort="amount_due")  # narrowed below the cap: sorted again
    assert listing.find(deps, "acme", "invoice", InvoiceQuery(), narrowed, limit=1, cursor=None).items


def encoded(parts: Any) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


@pytest.mark.parametrize(
    "parts",
    [None, [], ["sorted", "amount_due"], ["sorted", "amount_due", -1], ["sorted", "amount_due", "1"],
     ["sorted", "amount_due", True], ["sorted", "amount_due", 1.0], ["table", "INV#inv_00001"]],
)  # fmt: skip
def test_given_a_cursor_a_sorted_list_did_not_return_then_invalid_on_cursor(parts):
    deps = store_of(["1.00", "2.00"])
    cursor = "not-a-cursor" if parts is None else encoded(parts)

    with pytest.raises(InvalidInput) as refused:
        listing.find(deps, "acme", "invoice", InvoiceQuery(), Search(sort="amount_due"), limit=1, cursor=cursor)

    assert [error.field for error in refused.value.errors] == ["cursor"]


def test_given_the_cursor_of_one_sort_when_used_with_another_then_refused():
    deps = store_of(["1.00", "2.00", "3.00"])
    first = listing.find(deps, "acme", "invoice", InvoiceQuery(), Search(sort="amount_due"), limit=1, cursor=None)
    assert first.cursor is not None

    for other in ("-amount_due", "due_date", "issue_date", None):
        with pytest.raises(InvalidInput):
            listing.find(deps, "acme", "invoice", InvoiceQuery(), Search(sort=other), limit=1, cursor=first.cursor)


def test_given_a_sort_that_would_outlast_the_request_then_refused_on_sort_before_its_time_runs_out():
    """Reading every match to sort them stops while the request can still
    answer: a 422 naming sort, never a gateway timeout."""
    from invoicing.logic import listing
    from invoicing.logic.common import Deps
    from invoicing.logic.retry import time_budget
    from invoicing.ports import InvoiceQuery, PageOf

    class EndlessStore:
        reads = 0

        def list(self, tenant, kind, *, limit, cursor, query):
            EndlessStore.reads += 1
            return PageOf([{"id": f"inv_{EndlessStore.reads}", "due_date": "2026-12-01"}], cursor="more")

    left = iter(range(10_000, 0, -1_000))  # ms left: less at each read
    with time_budget(lambda: next(left)), pytest.raises(InvalidInput) as refused:
        listing.find(Deps(store=EndlessStore()), "acme", "invoice", InvoiceQuery(), listing.Search(sort="due_date"),
                     limit=10, cursor=None)  # fmt: skip

    assert [error.field for error in refused.value.errors] == ["sort"]
    assert EndlessStore.reads == 8  # with 10 s, 9, … 3 s left it reads; under 3 s it stops
