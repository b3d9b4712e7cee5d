"""The estimate's public page (its own function, public: the token is the
credential): the estimate, its PDF, and its client's Accept and Decline.

The buttons post forms and are answered as a browser wants: 303 back to the
page once the answer is recorded (a reload posts nothing twice), or the
page again with what went wrong — 409 when the estimate was answered or
expired meanwhile, 422 with the fields to correct."""

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from invoicing.adapters.live import deps
from invoicing.api.http import public_url
from invoicing.api.pages import html_page, security_headers

router = Router()

_HTML_PAGE = {200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
_HTML_ERROR = {"description": "An HTML page that says why", "content": {"text/html": {"schema": {"type": "string"}}}}
_ANSWERED = {
    303: {"description": "Recorded: back to the page, which shows the answer"},
    404: _HTML_ERROR,
    409: {**_HTML_ERROR, "description": "The page, saying the estimate was answered (when, by whom) or expired"},
    422: {**_HTML_ERROR, "description": "The page, naming the fields to correct, filled with what was typed"},
}
# Unbounded here, so that a mangled link gets the page that says so, not a JSON error: a
# token longer than any we issue is simply not found.
QuoteToken = Annotated[str, Path(description="the estimate page's token")]
MAX_TOKEN = 64
# A form's fields as read: a little over what a field takes, so that one too long is refused
# (and shown back cut), never a megabyte echoed into the page.
MAX_FIELD = 2_000


def _missing() -> Response:
    from invoicing.documents.html import render_quote_missing_page

    return html_page(404, render_quote_missing_page())


def _page_url(token: str) -> str:
    return f"{public_url(router)}/quote/{token}"


@router.get(
    "/quote/<token>",
    operation_id="getQuotePage",
    tags=["Quote page"],
    summary="The estimate's page: the estimate, its PDF, and Accept or Decline (no token needed)",
    responses={**_HTML_PAGE, 404: _HTML_ERROR},
)
def quote_page(token: QuoteToken):
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import NotFound
    from invoicing.logic import quotepage

    try:
        return html_page(200, quotepage.page(deps(), token, _page_url(token)))
    except NotFound:
        return _missing()


@router.get(
    "/quote/<token>/pdf",
    operation_id="getQuotePagePdf",
    tags=["Quote page"],
    summary="The estimate's PDF: a redirection to a link valid a few minutes",
    responses={302: {"description": "To the PDF"}, 404: _HTML_ERROR},
)
def quote_pdf(token: QuoteToken):
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import NotFound
    from invoicing.logic import quotepage

    try:
        url = quotepage.pdf_url(deps(), token)
    except NotFound:
        return _missing()
    return Response(status_code=302, body="", headers={"Location": url, **security_headers()})


@router.post(
    "/quote/<token>/accept",
    operation_id="acceptQuote",
    tags=["Quote page"],
    summary='Accept the estimate (a form: name = the client\'s full name, agree = on, its "Bon pour accord")',
    responses=_ANSWERED,
)
def accept_quote(token: QuoteToken):
    from invoicing.logic import quotepage

    form = _form()
    ip, agent = _visitor()
    typed = {"name": form.get("name", "")}
    return _answered(
        token, typed, lambda: quotepage.accept(deps(), token, typed["name"], form.get("agree") == "on", ip, agent)
    )


@router.post(
    "/quote/<token>/decline",
    operation_id="declineQuote",
    tags=["Quote page"],
    summary="Decline the estimate (a form: reason, optional, 1,000 characters at most)",
    responses=_ANSWERED,
)
def decline_quote(token: QuoteToken):
    from invoicing.logic import quotepage

    form = _form()
    ip, agent = _visitor()
    typed = {"reason": form.get("reason", "")}
    return _answered(token, typed, lambda: quotepage.decline(deps(), token, typed["reason"] or None, ip, agent))


def _answered(token: str, typed: dict[str, str], answer: Callable[[], object]) -> Response:
    """Record the answer, then back to the page (303); else the page again,
    saying why (409, 422), or the page that says nothing is here (404)."""
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import Conflict, InvalidInput, NotFound
    from invoicing.logic import quotepage

    url = _page_url(token)
    try:
        answer()
    except NotFound:
        return _missing()
    except Conflict:  # answered, or expired, before this answer came
        status, shown = 409, {"refused": True}
    except InvalidInput as error:
        status, shown = 422, {"problems": error.errors, "typed": typed}
    else:
        return Response(status_code=303, body="", headers={"Location": url, **security_headers()})
    try:
        return html_page(status, quotepage.page(deps(), token, url, **shown))
    except NotFound:
        return _missing()


def _form() -> dict[str, str]:
    from urllib.parse import parse_qsl

    body = router.current_event.decoded_body or ""
    return {key: value[:MAX_FIELD] for key, value in parse_qsl(body, keep_blank_values=True)}


def _visitor() -> tuple[str | None, str | None]:
    """Where the answer came from, as API Gateway saw it: the client's IP
    address and its browser (kept with the answer, its evidence)."""
    event = router.current_event
    return event.request_context.identity.source_ip, event.headers.get("User-Agent")
