"""Use cases of templates: an invoice made reusable, and a draft made from
one. Templates are stored and edited like the catalogue (logic.catalog)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from invoicing.domain import lifecycle
from invoicing.domain.errors import NameTaken
from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps, validated
from invoicing.models.invoices import InvoiceIn
from invoicing.models.templates import FromInvoice, InvoiceFromTemplate, TemplateIn
from invoicing.ports import Doc

NAME_ATTEMPTS = 20
CONTENT = ("currency", "discount", "notes", "terms", "late_fees", "tips", "payment_methods")
_LINE_INPUT = ("product_id", "name", "description", "quantity", "unit", "unit_price", "discount", "taxes")


def invoice_fields(content: Doc, issue: date) -> dict[str, Any]:
    """An invoice's fields from a template's content (a template, a recurring
    invoice): its due date and schedule's offsets counted from `issue`."""
    body: dict[str, Any] = {key: content.get(key) for key in CONTENT if content.get(key) is not None}
    body["lines"] = content["lines"]
    if content.get("payment_terms_days") is not None:
        body["due_date"] = issue + timedelta(days=content["payment_terms_days"])
    schedule = content.get("payment_schedule")
    if schedule:
        body["payment_schedule"] = {
            "type": schedule["type"],
            "instalments": [
                {"due_date": issue + timedelta(days=item["days_after_issue"]), "value": item["value"]}
                for item in schedule["instalments"]
            ],
        }
    return body


def from_invoice(deps: Deps, tenant: str, invoice_id: str, data: FromInvoice) -> Doc:
    """The invoice's content, without its customer, dates, number, payments
    or deliveries; its schedule and due date as offsets from its issue date."""
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    issued = date.fromisoformat(invoice["issue_date"]) if invoice.get("issue_date") else None
    body: dict[str, Any] = {key: invoice.get(key) for key in CONTENT}
    body["name"] = data.name or invoice["name"]
    body["lines"] = [  # a final invoice's deposit deductions name its estimate's deposits alone
        {key: line[key] for key in _LINE_INPUT if line.get(key) is not None}
        for line in invoice["lines"]
        if not line.get(invoices.SYSTEM_LINE)
    ]
    if issued and invoice.get("due_date"):
        body["payment_terms_days"] = (date.fromisoformat(invoice["due_date"]) - issued).days
    schedule = invoice.get("payment_schedule")
    if schedule:
        start = issued or min(date.fromisoformat(item["due_date"]) for item in schedule["instalments"])
        body["payment_schedule"] = {
            "type": schedule["type"],
            "instalments": [
                {
                    "days_after_issue": max(0, (date.fromisoformat(item["due_date"]) - start).days),
                    "value": item["value"],
                }
                for item in schedule["instalments"]
            ],
        }
    return catalog.create(deps, tenant, "template", validated(TemplateIn, body))


def new_invoice(deps: Deps, tenant: str, template_id: str, data: InvoiceFromTemplate) -> Doc:
    """A draft for a customer, with the template's content and its offsets
    turned into dates; named after the template, numbered if the name is taken."""
    template = catalog.get(deps, tenant, "template", template_id)
    body = invoice_fields(template, data.issue_date or deps.today())
    body.update(customer_id=data.customer_id, issue_date=data.issue_date)
    if data.due_date:
        body["due_date"] = data.due_date
    base = data.name or template["name"]
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = base if attempt == 1 else lifecycle.numbered_name(base, attempt)
        try:
            return invoices.create_invoice(deps, tenant, validated(InvoiceIn, {**body, "name": name}))
        except NameTaken:
            if data.name:
                raise  # a name the client chose is not changed behind its back
    raise NameTaken("invoice", lifecycle.numbered_name(base, NAME_ATTEMPTS))
