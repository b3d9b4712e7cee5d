"""A tenant's documents brought to the table's current keys (deploy day of
SPEC §14): what was written before the `by_date` index, the searchable
text and the payment entries existed carries none of them.

Each document of the listed kinds is written back as it is — the same
version, conditional on it (one changed meanwhile was written by its
change, keys and all) — so the adapter gives it the keys it gives every
write; each invoice with payments has its payment entries projected
(logic.ledger). Run once per tenant after the deployment that adds the
index (`python -m infra.admin reindex`); running it again changes
nothing. The stream sees each document written as it was: no event."""

from __future__ import annotations

from invoicing.domain.errors import Busy, Conflict, NotFound, StaleVersion
from invoicing.logic import ledger
from invoicing.logic.common import Deps, every_page
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import Doc

KINDS = ("invoice", "estimate", "credit_note", "customer", "product", "template")
PAGE = 100


def reindex(deps: Deps, tenant: str) -> dict[str, int]:
    """How many documents of each kind were written back, and payment entries written."""
    done: dict[str, int] = {}
    for kind in KINDS:
        for doc in every_page(lambda cursor, kind=kind: deps.store.list(tenant, kind, limit=PAGE, cursor=cursor)):
            done[kind] = done.get(kind, 0) + _written_back(deps, tenant, kind, doc)
            if kind == "invoice" and doc.get("payments"):
                done["payment_entry"] = done.get("payment_entry", 0) + ledger.project(deps, tenant, doc["id"])
    return done


def _written_back(deps: Deps, tenant: str, kind: str, doc: Doc) -> int:
    """1 when written back; 0 when it changed or went since it was read (a
    write gave it its keys, or it is gone). A transaction holding it or a
    busy table: tried again, a few times, then the run stops (run it again)."""

    def attempt() -> int:
        try:
            deps.store.replace(tenant, kind, doc, expected_version=doc["version"], old_name=None, new_name=None)
        except (StaleVersion, NotFound):
            return 0
        except (Conflict, Busy):
            raise LostRace from None
        return 1

    return until_written(attempt, f"the {kind} {doc['id']} is being written too often to write it back now")
