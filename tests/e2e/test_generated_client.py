"""A client generated from /openapi.json by openapi-python-client, as a CRM
team would make one (SPEC §6.2): it builds without a warning, and every
call of an invoice's life answers a typed object — the success as its
model, an error as ErrorResponse, never "Unexpected status"."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUSINESS, CUSTOMER, SPEC_INVOICE

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def generated(runtime: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The client package, generated from the running system's document."""
    where = tmp_path_factory.mktemp("generated")
    config = where / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the generator's output, as it is
    command = [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--url",
               f"{runtime.url}/openapi.json", "--output-path", str(where / "invoicing_client"),
               "--config", str(config), "--meta", "none"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    sys.path.insert(0, str(where))
    yield result
    sys.path.remove(str(where))
    for name in [name for name in sys.modules if name.startswith("invoicing_client")]:
        del sys.modules[name]


def test_the_client_builds_without_a_warning(generated: Any) -> None:
    output = generated.stdout + generated.stderr

    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output


def test_every_call_of_an_invoices_life_answers_a_typed_object(generated: Any, runtime: Any, tenant: str) -> None:
    from infra.local.runtime import mint_token

    assert generated.returncode == 0
    api_module = importlib.import_module("invoicing_client.api")
    models = importlib.import_module("invoicing_client.models")
    client = importlib.import_module("invoicing_client").AuthenticatedClient(
        base_url=runtime.url, token=mint_token(tenant), raise_on_unexpected_status=True
    )

    def call(tag: str, operation: str, **kw: Any) -> Any:
        return importlib.import_module(f"{api_module.__name__}.{tag}.{operation}").sync(client=client, **kw)

    saved = call("business", "replace_business", body=models.BusinessIn.from_dict(BUSINESS))
    assert isinstance(saved, models.Business)
    assert (saved.siren, saved.version) == ("732829320", 1)
    patched = call("business", "update_business", body=models.BusinessPatch.from_dict({"email": "a@acme.example"}))
    assert (patched.email, patched.siren) == ("a@acme.example", "732829320")  # a PATCH merges
    customer = call("customers", "create_customer", body=models.CustomerIn.from_dict(CUSTOMER))
    assert isinstance(customer, models.Customer)
    body = models.InvoiceIn.from_dict({**SPEC_INVOICE, "customer_id": customer.id})
    draft = call("invoices", "create_invoice", body=body)
    assert isinstance(draft, models.Invoice)
    assert draft.totals.total == "1398.00"
    issued = call("invoices", "mark_invoice_sent", invoice_id=draft.id)
    assert (issued.number, issued.status.value) == ("INV-1", "open")
    paid = call("payments", "record_payment", invoice_id=draft.id, idempotency_key=f"pay-{tenant}",
                body=models.CashPayment.from_dict({"method": "cash", "amount": "398.00"}))  # fmt: skip
    assert isinstance(paid, models.PaymentRecorded)
    assert (paid.amount, paid.invoice.amount_due) == ("398.00", "1000.00")
    listed = call("invoices", "list_invoices")
    assert isinstance(listed, models.InvoicePage)
    assert [item.number for item in listed.items] == ["INV-1"]
    missing = call("invoices", "get_invoice", invoice_id="inv_missing")
    assert isinstance(missing, models.ErrorResponse)
    assert missing.error.code == "not_found"
    stale = call("invoices", "update_invoice", invoice_id=draft.id, body=models.InvoicePatch.from_dict({"version": 1}))
    assert isinstance(stale, models.ErrorResponse)
    assert stale.error.code == "invoice_not_editable"
