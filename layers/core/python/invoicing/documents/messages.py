"""The messages that carry an invoice: the e-mail (subject, HTML and text
parts, the PDF attached) and the SMS, from the same view-model as the
documents, in the business's language. Only the delivery function imports it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from invoicing.documents.html import TEMPLATES

SMS_SEGMENT = 160  # GSM-7 characters in one SMS; two segments carry 306


@cache
def _environment(escape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=escape, default_for_string=escape),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _facts(view: dict[str, Any]) -> dict[str, str]:
    due = next((row["amount"] for row in reversed(view["totals"]) if row.get("strong")), "")
    return {
        "number": view.get("number") or "",
        "business": view["seller"]["name"] or "",
        "amount": due,
        "due_date": view.get("due_date") or "",
    }


def email(view: dict[str, Any], link: str | None, sender: str, recipient: str, pdf: bytes, filename: str) -> bytes:
    """The e-mail as MIME: text and HTML alternatives, the PDF attached."""
    text = view["text"]
    facts = _facts(view)
    message_view = {"subject": text["email_subject"].format(**facts), "intro": text["email_intro"].format(**facts),
                    "link": link}  # fmt: skip
    message = EmailMessage()
    message["Subject"] = message_view["subject"]
    message["From"] = formataddr((facts["business"], sender))
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(_environment(False).get_template("email.txt").render(v=view, m=message_view))
    message.add_alternative(
        _environment(True).get_template("email.html").render(v=view, m=message_view), subtype="html"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message.as_bytes()


def sms(view: dict[str, Any], link: str | None) -> str:
    """The business, the number, the amount due, the due date and the link,
    in at most two segments: the business name is shortened first."""
    facts = _facts(view)
    template = view["text"]["sms"]
    text = template.format(**facts, link=link or "").strip()
    budget = 2 * 153  # two concatenated segments
    if len(text) > budget:
        spare = len(text) - budget
        facts["business"] = facts["business"][: max(8, len(facts["business"]) - spare - 1)] + "…"
        text = template.format(**facts, link=link or "").strip()
    return text[:budget]
