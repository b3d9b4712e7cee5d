"""The HTML rendering of the view-model (Jinja2, autoescaped: every value a
client typed is text, never markup). Only the documents function imports it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(view: dict[str, Any]) -> str:
    return _environment().get_template("invoice.html").render(v=view)


def render_pay_page(view: dict[str, Any]) -> str:
    return _environment().get_template("pay.html").render(v=view)


def render_missing_page() -> str:
    return _environment().get_template("pay_missing.html").render()


def render_pdf_wait_page(failed: bool) -> str:
    """The hosted page's answer for a PDF being rendered, or that failed."""
    return _environment().get_template("pay_pdf.html").render(failed=failed)


def render_quote_page(view: dict[str, Any]) -> str:
    """An estimate's public page (view.quote_view)."""
    return _environment().get_template("quote.html").render(v=view)


def render_quote_missing_page() -> str:
    return _environment().get_template("quote_missing.html").render()
