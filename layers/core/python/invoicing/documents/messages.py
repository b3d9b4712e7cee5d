"""The messages that carry an invoice: the e-mail (subject, HTML and text
parts, the PDF attached) and the SMS, from the same view-model as the
documents, in the business's language. Only the delivery function imports it."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from invoicing.documents.html import TEMPLATES

# Lines up to RFC 5322's limit: Python's folding of a long subject with
# accented words drops the space at the fold ("€ à" arrived as "€à").
POLICY = policy.default.clone(max_line_length=998)


@cache
def _environment(escape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=escape, default_for_string=escape),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# Words whose h is aspirated: "de Hollande", never "d'Hollande"; before
# any other h, as before a vowel, French elides ("d'Hermès").
H_ASPIRE = frozenset(
    "hache haie haine hall halle halte hamac hameau hamster hanche handicap hangar hardi haricot harpe hasard hausse "
    "haut haute hauts hautes havre hennin hérisson héros hibou hockey hollande homard hongrie honda honte hors "
    "houblon houx huit hurler hutte hyundai".split()
)


def of_business(name: str, lang: str) -> str:
    """ "de Dupont", "d'Acme", "d'Hermès", "de Hollande Services" (French
    elides before a vowel or a mute h); "from Acme" in English."""
    if lang != "fr":
        return f"from {name}"
    word = name.split(" ", 1)[0].casefold()
    bare = unicodedata.normalize("NFD", word).encode("ascii", "ignore").decode()
    vowel = bare[:1] in ("a", "e", "i", "o", "u") or (bare[:1] == "y" and bare[1:2] not in ("a", "e", "i", "o", "u"))
    mute_h = bare[:1] == "h" and word not in H_ASPIRE and bare not in H_ASPIRE
    return f"d'{name}" if vowel or mute_h else f"de {name}"


def _facts(view: dict[str, Any]) -> dict[str, str]:
    due = next((row["amount"] for row in reversed(view["totals"]) if row.get("strong")), "")
    return {
        "number": view.get("number") or "",
        "business": view["seller"]["name"] or "",
        "of_business": of_business(view["seller"]["name"] or "", view.get("lang") or "fr"),
        "amount": due,
        "amount_paid": view.get("amount_paid") or "",
        "due_date": view.get("due_date") or "",
        "invoice_number": view.get("invoice_number") or "",
        "payment_amount": view.get("payment_amount") or "",
        "paid_on": view.get("paid_on") or "",
        "valid_until": view.get("valid_until") or "",
    }


def email(
    view: dict[str, Any],
    link: str | None,
    sender: str,
    recipient: str,
    pdf: bytes,
    filename: str,
    reply_to: str | None = None,
    kind: str = "invoice",
    files: list[tuple[str, str, bytes]] | tuple[()] = (),
    file_links: list[tuple[str, str]] | tuple[()] = (),
    via: str | None = None,
) -> bytes:
    """The e-mail as MIME: text and HTML alternatives, the PDF attached.
    `kind` "receipt": the invoice is paid, thank you, here it is;
    "reminder": a deadline comes, is today, or has passed; "credit_note":
    a credit note on one of the client's invoices; "payment_failed": its
    automatic payment failed, pay it on its page; "estimate": an estimate
    (view.estimate_view), `link` its public page, where it is accepted. `via`: the platform's
    name, when the message leaves from the platform's address: its From
    reads "{business} via {platform}", so that a business's name, which
    is its own free text, never passes for the sender (SPEC §15)."""
    text = view["text"]
    facts = _facts(view)
    prefix = {
        "receipt": view.get("receipt_prefix", "receipt"),
        "reminder": view.get("reminder_prefix", "reminder_before"),
        "credit_note": "credit_note",
        "estimate": "estimate",
        "payment_failed": "payment_failed",
    }.get(kind, "email")
    message_view = {
        "subject": text[f"{prefix}_subject"].format(**facts),
        "intro": text[f"{prefix}_intro"].format(**facts),
        "link": link,
        "button": text[f"{prefix}_pay"],
        "attached": [name for name, _, _ in files],
        "file_links": list(file_links),
    }
    message = EmailMessage(policy=POLICY)
    message["Subject"] = message_view["subject"]
    message["From"] = formataddr((f"{facts['business']} via {via}" if via else facts["business"], sender))
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = formataddr((facts["business"], reply_to))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(_environment(False).get_template("email.txt").render(v=view, m=message_view))
    message.add_alternative(
        _environment(True).get_template("email.html").render(v=view, m=message_view), subtype="html"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    for name, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    return message.as_bytes()


# GSM 03.38: what one SMS segment carries 160 of (153 when concatenated);
# any other character switches the whole message to UCS-2, 70 per segment.
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two septets each
SMS_BUDGET = 2 * 153  # septets in two concatenated segments


def gsm7(text: str) -> str:
    """The text in the GSM alphabet: spaces of every width become spaces,
    letters lose the accents GSM lacks (ê → e), the rest becomes "?"."""
    out = []
    for char in text:
        if char in GSM7 or char in GSM7_EXTENDED:
            out.append(char)
        elif unicodedata.category(char) == "Zs":
            out.append(" ")
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(base if base and all(c in GSM7 for c in base) else "?")
    return "".join(out)


def septets(text: str) -> int:
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)


def segments(text: str) -> int:
    """How many SMS the text takes: one up to 160 septets, else 153 a
    segment, an escaped character (€) never split across two."""
    if septets(text) <= 160:
        return 1
    count, used = 1, 0
    for char in text:
        size = 2 if char in GSM7_EXTENDED else 1
        if used + size > 153:
            count, used = count + 1, 0
        used += size
    return count


def about_deadline(view: dict[str, Any], reminder: dict[str, Any]) -> dict[str, Any]:
    """The view as a reminder tells it: the deadline's date and what it
    still asks (the invoice's balance, without a schedule)."""
    deadline = reminder["key"].split(":")[0]
    row = next((row for row in view.get("schedule") or [] if row.get("id") == deadline), None)
    offset = int(reminder["offset"])
    when = "before" if offset < 0 else "today" if offset == 0 else "after"
    shown = dict(view)
    if row is not None:
        shown["due_date"], shown["amount_due"] = row["due_date"], row["remaining"]
    shown["totals"] = [*view["totals"][:-1], {**view["totals"][-1], "amount": shown["amount_due"]}]
    shown["reminder_prefix"] = f"reminder_{when}"
    return shown


def about_payment(view: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
    """The view as a payment's receipt tells it: the amount it paid and its
    day; then the invoice paid in full, or what is still due."""
    from babel.dates import format_date
    from babel.numbers import format_currency

    from invoicing.documents.view import BABEL_LOCALES

    babel_locale = BABEL_LOCALES.get("fr-FR" if view.get("lang") == "fr" else "en", "fr_FR")
    paid_on = date.fromisoformat(payment["paid_at"])
    left = Decimal(payment["amount_due_after"])
    shown = {
        **view,
        "payment_amount": format_currency(Decimal(payment["amount"]), payment["currency"], locale=babel_locale),
        "paid_on": format_date(paid_on, format="short", locale=babel_locale),
        "receipt_prefix": "receipt_paid" if left <= 0 else "receipt_partial",
    }
    last = view["totals"][-1]  # "Net à payer": what the message says is still due
    shown["totals"] = [*view["totals"][:-1], {**last, "amount": format_currency(left, payment["currency"],
                                                                                  locale=babel_locale)}]  # fmt: skip
    return shown


def sms(view: dict[str, Any], link: str | None, kind: str = "invoice") -> str:
    """The business, the number, the amount due, the due date and the link,
    in the GSM alphabet and at most two segments: a long business name is
    shortened, never the link."""
    facts = _facts(view)
    template = view["text"][
        {"reminder": "reminder_sms", "credit_note": "credit_note_sms", "estimate": "estimate_sms"}.get(kind, "sms")
    ]
    name = facts["business"]
    text = gsm7(template.format(**facts, link=link or "").strip())
    while segments(text) > 2 and len(name) > 8:
        name = name[: max(8, len(name) - (septets(text) - SMS_BUDGET) - 1)]
        text = gsm7(template.format(**{**facts, "business": name + "."}, link=link or "").strip())
    while segments(text) > 2:  # a link or a number too long to fit: cut, never a third segment
        text = text[:-1]
    return text


def estimate_answered(
    view: dict[str, Any], sender: str, recipient: str, pdf: bytes | None = None, filename: str | None = None
) -> bytes:
    """The e-mail that tells the business its client answered an estimate
    (view.estimate_view of the answered version): "Devis D-1 accepté par
    Jean Dupont", with when, and the accepted PDF attached when given; or
    "Devis D-1 refusé", with the reason the client gave. The name and the
    reason are the client's own words, typed on the public page: the name
    is kept to one line, for the subject."""
    text = view["text"]
    facts = {**_facts(view), "customer": view["buyer"]["name"] or ""}
    if view.get("acceptance"):
        facts |= view["acceptance"]
        subject = text["estimate_accepted_subject"].format(**facts)
        paragraphs = [text["estimate_accepted_body"].format(**facts)]
    else:
        decline = view.get("decline") or {}
        facts |= {"date": decline.get("date") or ""}
        subject = text["estimate_declined_subject"].format(**facts)
        reason = decline.get("reason")
        paragraphs = [
            text["estimate_declined_body"].format(**facts),
            text["estimate_declined_reason"].format(reason=reason) if reason else text["estimate_declined_no_reason"],
        ]
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content("\n\n".join([text["email_greeting"], *paragraphs]) + "\n")
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename or "devis.pdf")
    return message.as_bytes()


def sender_code(locale: str, business: str, code: str, minutes: int, sender: str, recipient: str) -> bytes:
    """The e-mail that proves a business reads the address it wants its
    invoices to come from: the code, and what to do if nobody asked."""
    from invoicing.documents.view import labels

    text = labels(locale)
    facts = {"business": business or recipient, "code": code, "minutes": minutes}
    message = EmailMessage(policy=POLICY)
    message["Subject"] = text["sender_code_subject"].format(**facts)
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text["sender_code_body"].format(**facts))
    return message.as_bytes()
