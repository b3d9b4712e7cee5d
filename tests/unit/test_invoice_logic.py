"""The invoice use cases on the in-memory store: a fixed clock, predictable
ids, and races staged precisely (what a concurrent finalization does between
our read and our write)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from invoicing.domain.errors import Busy, InvalidInput, NameTaken
from invoicing.logic import catalog, invoices, paylinks, retry
from invoicing.logic.common import Deps
from invoicing.models.invoices import InvoiceIn
from invoicing.models.resources import BusinessIn, CustomerIn, ProductIn
from invoicing.ports import ConditionFailed, Finalization
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN
from tests.fakes.store import InMemoryStore

pytestmark = pytest.mark.unit

URL = "https://api.example/v1"
LINE = {"name": "Conseil", "unit_price": "100.00", "taxes": [{"name": "TVA", "rate": "20"}]}


def make_deps(store: Any = None) -> Deps:
    ids = itertools.count(1)
    return Deps(
        store=store or InMemoryStore(),
        now=lambda: datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        new_id=lambda prefix: f"{prefix}_{next(ids):04d}",
        link_key=lambda: b"k" * 32,
    )


@pytest.fixture
def deps() -> Deps:
    deps = make_deps()
    catalog.put_business(deps, "acme", BusinessIn.model_validate({**BUSINESS, "payment_terms_days": 45}), None)
    catalog.create(deps, "acme", "customer", CustomerIn(name="Dupont", address=CLIENT_ADDRESS, siren=CLIENT_SIREN))
    return deps


def draft(deps: Deps, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "customer_id": "cus_0001", "lines": [LINE], **fields}
    return invoices.create_invoice(deps, "acme", InvoiceIn.model_validate(body))


def test_finalizing_snapshots_numbers_and_dates_the_invoice(deps):
    invoice, issued = invoices.finalize_invoice(deps, "acme", draft(deps, "A")["id"], None, URL)

    assert issued
    assert (invoice["number"], invoice["status"], invoice["version"]) == ("INV-1", "open", 2)
    assert (invoice["issue_date"], invoice["due_date"]) == ("2026-11-27", "2027-01-11")  # + 45 days
    assert invoice["business"]["legal_name"] == "Acme SAS"
    assert invoice["customer"]["name"] == "Dupont"
    token = invoice["payment_link"].removeprefix(f"{URL}/pay/")
    assert len(token) == 43
    assert token == paylinks.token(deps, "acme", invoice["id"])
    assert deps.store.payment_token(paylinks.token_hash(token)) == ("acme", invoice["id"])
    assert token not in json.dumps(list(deps.store.docs.values()))  # the table keeps its hash only
    again, issued_again = invoices.finalize_invoice(deps, "acme", invoice["id"], None, URL)
    assert (again["number"], issued_again) == ("INV-1", False)


class RacingStore(InMemoryStore):
    """Before each of our first `races` finalizations lands, another request
    finalizes another draft: our write must fail, and the retry take the
    next number."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def finalize(self, tenant: str, step: Finalization) -> None:
        if self.races:
            self.races -= 1
            rival = next(d for (t, k, _), d in self.docs.items() if k == "invoice" and d["status"] == "draft"
                         and d["id"] != step.invoice["id"])  # fmt: skip
            super().finalize(tenant, Finalization({**rival, "status": "open", "number": step.invoice["number"],
                                                   "issue_date": "2026-11-27", "version": rival["version"] + 1},
                                                  rival["version"], step.sequence, f"rival{self.races}"))  # fmt: skip
        super().finalize(tenant, step)


def test_a_finalization_that_loses_a_race_retries_with_the_next_number():
    deps = make_deps(RacingStore(races=2))
    catalog.put_business(deps, "acme", BusinessIn.model_validate(BUSINESS), None)
    catalog.create(deps, "acme", "customer", CustomerIn(name="Dupont", address=CLIENT_ADDRESS, siren=CLIENT_SIREN))
    ours = draft(deps, "Ours")
    for name in ("Rival 1", "Rival 2"):
        draft(deps, name)

    invoice, _ = invoices.finalize_invoice(deps, "acme", ours["id"], None, URL)

    assert invoice["number"] == "INV-3"
    numbers = sorted(d["number"] for d in deps.store.docs.values() if d.get("number"))
    assert numbers == ["INV-1", "INV-2", "INV-3"]


class AlwaysLosingStore(InMemoryStore):
    def finalize(self, tenant: str, step: Finalization) -> None:
        raise ConditionFailed([0])


def test_endless_contention_gives_up_without_consuming_a_number(monkeypatch):
    monkeypatch.setattr(retry, "sleep", lambda _s: None)
    deps = make_deps(AlwaysLosingStore())
    catalog.put_business(deps, "acme", BusinessIn.model_validate(BUSINESS), None)
    catalog.create(deps, "acme", "customer", CustomerIn(name="Dupont", address=CLIENT_ADDRESS, siren=CLIENT_SIREN))
    invoice = draft(deps, "A")

    with pytest.raises(Busy):
        invoices.finalize_invoice(deps, "acme", invoice["id"], None, URL)
    assert deps.store.get("acme", "invoice", invoice["id"])["status"] == "draft"
    assert deps.store.invoice_sequence("acme").last == 0


def test_a_line_naming_a_product_takes_what_it_leaves_out(deps):
    product = catalog.create(
        deps, "acme", "product", ProductIn(name="Audit", unit_price="750", taxes=[{"name": "TVA", "rate": "20"}])
    )

    invoice = draft(deps, "Audit", lines=[{"product_id": product["id"], "quantity": "2"}])

    line = invoice["lines"][0]
    assert (line["name"], line["unit_price"], line["net"]) == ("Audit", "750.00", "1500.00")
    assert invoice["totals"]["total"] == "1800.00"


def test_duplicates_are_named_copie_then_copie_2(deps):
    source = draft(deps, "Devis")

    first = invoices.duplicate_invoice(deps, "acme", source["id"])
    second = invoices.duplicate_invoice(deps, "acme", source["id"])

    assert (first["name"], second["name"]) == ("Devis (copie)", "Devis (copie 2)")
    assert (first["status"], first["number"]) == ("draft", None)
    with pytest.raises(NameTaken):
        draft(deps, "devis (COPIE)")


def test_a_draft_without_a_customer_lists_every_reason_it_cannot_be_issued():
    deps = make_deps()
    invoice = invoices.create_invoice(deps, "acme", InvoiceIn(name="Vide"))

    with pytest.raises(InvalidInput) as raised:
        invoices.finalize_invoice(deps, "acme", invoice["id"], None, URL)

    assert [e.field for e in raised.value.errors] == ["business.legal_name", "customer_id", "lines"]
