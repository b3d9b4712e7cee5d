"""What `POST /exports` takes (SPEC §14)."""

from datetime import date
from typing import Literal

from pydantic import Field

from invoicing.models.common import Input


class ExportIn(Input):
    kind: Literal["invoices", "payments", "credit_notes", "fec"] = Field(
        description="invoices, credit notes (by issue date), payments (by the day received), or fec: the sales "
        "and bank journals as a Fichier des Écritures Comptables"
    )
    from_: date | None = Field(default=None, alias="from", description="included; the first day of `to`'s year")
    to: date | None = Field(default=None, description="included; today if left out")
    format: Literal["csv", "csv-fr"] = Field(
        default="csv",
        description="csv: RFC 4180, dot decimals; csv-fr: semicolons, comma decimals, UTF-8 BOM (French Excel); "
        "a fec has its own (tab-separated, ISO 8859-15)",
    )
