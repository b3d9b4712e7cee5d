"""The estimate's public page, `/quote/{token}` (SPEC §11): its client
reads the estimate, downloads its PDF, and accepts or declines it, without
an account (the token: logic.quotes).

The client answers once. Only a sent estimate within its validity takes an
answer (past its last valid day it is expired, whether or not the sweep
has recorded it), and the answer is written under the version read: of two
answers at once (a double click, two tabs, accepted here and declined
there) exactly one is recorded, and the other is told what became of the
estimate (409). An answer keeps what makes it the evidence of a "bon pour
accord" given online: the name typed, the instant, the IP address and the
browser it came from. The business is told by e-mail, from the stream's
Estimate Accepted or Declined (logic.delivery.send_answer_notice)."""

from __future__ import annotations

import re
from collections.abc import Callable

from invoicing.domain.errors import FieldError, IllegalTransition, InvalidInput, NotFound, StaleVersion
from invoicing.domain.estimate import ANSWERABLE, EstimateStatus
from invoicing.logic import estimates, quotes
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.models.common import invisible_character
from invoicing.ports import Doc

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url (logic.quotes)
NAME_LENGTH = (2, 200)  # characters, its spaces collapsed
MAX_REASON = 1_000
MAX_USER_AGENT = 500  # browsers send a few hundred characters; a longer one is kept cut


def open_estimate(deps: Deps, token: str) -> tuple[str, Doc]:
    """The tenant and the stored estimate of a page's token: unknown,
    malformed, or a draft's (a draft has no page) are all the same 404."""
    if not TOKEN.match(token):
        raise NotFound(estimates.KIND)
    found = deps.store.quote_token(quotes.token_hash(token))
    if found is None:
        raise NotFound(estimates.KIND)
    tenant, estimate_id = found
    estimate = estimates.load(deps, tenant, estimate_id)
    if estimate["status"] == EstimateStatus.DRAFT:
        raise NotFound(estimates.KIND)
    return tenant, estimate


def page(
    deps: Deps,
    token: str,
    page_url: str,
    *,
    refused: bool = False,
    problems: list[FieldError] | None = None,
    typed: dict[str, str] | None = None,
) -> str:
    """The page's HTML. `refused`: an answer came too late (the page says
    what became of the estimate, and when); `problems`: the fields of an
    answer to correct, the form filled again with what was `typed`."""
    from invoicing.documents.html import render_quote_page
    from invoicing.documents.view import quote_view
    from invoicing.logic.logo import logo_bytes

    tenant, estimate = open_estimate(deps, token)
    logo = logo_bytes(deps, tenant, estimate["business"].get("logo"))
    answer = {
        "refused": refused,
        "problems": [problem.field for problem in problems or []],
        "typed": typed or {},
        "accept": f"{page_url}/accept",
        "decline": f"{page_url}/decline",
        "pdf": f"{page_url}/pdf",
    }
    return render_quote_page(quote_view(estimates.present(deps, tenant, estimate), logo, answer))


def pdf_url(deps: Deps, token: str) -> str:
    """A short-lived link to the PDF of the estimate's current version (an
    accepted one has its "Bon pour accord" block filled), stored first if
    its event has not stored it yet."""
    from invoicing.logic import documents

    tenant, estimate = open_estimate(deps, token)
    stored, key = documents.store_estimate_pdf(deps, tenant, estimate["id"])
    assert deps.blobs is not None, "the quote function has the bucket"
    return deps.blobs.download_url(key, documents.pdf_filename(stored), documents.LINK_TTL_S)


# -- the client's answer ------------------------------------------------------------


def accept(deps: Deps, token: str, name: str, agreed: bool, ip: str | None, user_agent: str | None) -> Doc:
    """Sent → accepted: the client typed its full name and ticked "Bon
    pour accord". The accepted estimate, as stored."""
    typed = " ".join(name.split())
    problems = []
    if not plausible_name(typed):
        problems.append(FieldError("name", f"type your full name ({NAME_LENGTH[0]} to {NAME_LENGTH[1]} characters)"))
    if not agreed:
        problems.append(FieldError("agree", 'tick "Bon pour accord" to accept the estimate'))

    def acceptance(now: str) -> Doc:
        return {"acceptance": {"name": typed, "accepted_at": now, "ip": ip, "user_agent": _agent(user_agent)}}

    return _answer(deps, token, "accept", EstimateStatus.ACCEPTED, problems, acceptance)


def decline(deps: Deps, token: str, reason: str | None, ip: str | None, user_agent: str | None) -> Doc:
    """Sent → declined, with the reason the client gave, if any. The
    declined estimate, as stored."""
    given = _text(reason or "").strip() or None
    problems = []
    if given is not None and len(given) > MAX_REASON:
        problems.append(FieldError("reason", f"{MAX_REASON:,} characters at most"))

    def refusal(now: str) -> Doc:
        return {"decline": {"reason": given, "declined_at": now, "ip": ip, "user_agent": _agent(user_agent)}}

    return _answer(deps, token, "decline", EstimateStatus.DECLINED, problems, refusal)


def plausible_name(name: str) -> bool:
    """A full name as a person types it: 2 to 200 characters (spaces
    collapsed), a letter among them, none invisible (a name that would
    read as another: SPEC §15)."""
    low, high = NAME_LENGTH
    return low <= len(name) <= high and any(char.isalpha() for char in name) and invisible_character(name) is None


def _answer(
    deps: Deps,
    token: str,
    action: str,
    status: EstimateStatus,
    problems: list[FieldError],
    record: Callable[[str], Doc],
) -> Doc:
    """Write the answer (`record` of the instant) under the version read.
    An estimate no longer open to one is a conflict before the answer's own
    faults: its client learns first what became of it."""

    def attempt() -> Doc:
        tenant, current = open_estimate(deps, token)
        shown = estimates.present(deps, tenant, current)["status"]  # expired once lapsed
        if shown not in ANSWERABLE:
            raise IllegalTransition(action, shown, estimates.KIND)
        if problems:
            raise InvalidInput(problems)
        now = deps.timestamp()
        answered = {
            **current,
            **record(now),
            "status": status.value,
            "sweep_expiry_on": None,  # out of the expiry sweep's index
            "updated_at": now,
            "version": current["version"] + 1,
        }
        try:
            deps.store.replace(
                tenant, estimates.KIND, answered, expected_version=current["version"], old_name=None, new_name=None
            )
        except StaleVersion:
            raise LostRace from None  # answered (or changed) meanwhile: read it again
        return answered

    return until_written(attempt, "the estimate is being answered by too many requests at once")


def _agent(user_agent: str | None) -> str | None:
    kept = _text(user_agent or "")[:MAX_USER_AGENT]
    return kept or None


def _text(value: str) -> str:
    """Free text as it is kept: line breaks as \\n, and nothing invisible
    (a pasted zero-width space, a control character) but them."""
    value = value.replace("\r\n", "\n")
    return "".join(char for char in value if char == "\n" or invisible_character(char) is None)
