"""The hosted invoice page (its own function, public: the token is the credential)."""

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from invoicing.adapters.live import deps
from invoicing.api.http import logger, public_url
from invoicing.api.pages import html_page, security_headers

router = Router()

_HTML_PAGE = {200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
_HTML_ERROR = {"description": "An HTML page that says why", "content": {"text/html": {"schema": {"type": "string"}}}}
# Unbounded here, so that a mangled link gets the page that says so, not a JSON error: a
# token longer than any we issue is simply not found.
PayToken = Annotated[str, Path(description="the payment link's token")]
MAX_TOKEN = 64


def _missing() -> Response:
    from invoicing.documents.html import render_missing_page

    return html_page(404, render_missing_page())


def _page_url(token: str) -> str:
    return f"{public_url(router)}/pay/{token}"


@router.get(
    "/pay/<token>",
    operation_id="getPayPage",
    tags=["Hosted page"],
    summary="The hosted invoice page: the invoice, its PDF, and the Pay button (no token needed)",
    responses={**_HTML_PAGE, 404: _HTML_ERROR},
)
def pay_page(token: PayToken, paid: Annotated[str | None, Query()] = None):
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import NotFound
    from invoicing.logic import paypage

    try:
        return html_page(200, paypage.page(deps(), token, _page_url(token), returned=paid is not None))
    except NotFound:
        return _missing()


@router.get(
    "/pay/<token>/pdf",
    operation_id="getPayPagePdf",
    tags=["Hosted page"],
    summary="The invoice's PDF: a redirection to a link valid a few minutes",
    responses={
        302: {"description": "To the PDF"},
        202: {
            "description": "A page that reloads itself while a large PDF is rendered (Retry-After, Refresh)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        404: _HTML_ERROR,
        503: {**_HTML_ERROR, "description": "A page that says the PDF could not be rendered (Retry-After)"},
    },
)
def pay_pdf(token: PayToken):
    from invoicing.documents.html import render_pdf_wait_page
    from invoicing.domain.errors import RenderFailed
    from invoicing.logic import paypage

    try:
        return _redirect(lambda: paypage.pdf_url(deps(), token), token)
    except RenderFailed as failed:
        response = html_page(503, render_pdf_wait_page(failed=True))
        response.headers["Retry-After"] = str(failed.retry_after_s)
        return response


@router.get(
    "/pay/<token>/attachments/<attachment_id>",
    operation_id="getPayPageAttachment",
    tags=["Hosted page"],
    summary="One of the invoice's attachments: a redirection to a link valid a few minutes",
    responses={302: {"description": "To the file"}, 404: _HTML_ERROR},
)
def pay_attachment(token: PayToken, attachment_id: Annotated[str, Path(description="the attachment's id")]):
    from invoicing.logic import paypage

    return _redirect(lambda: paypage.attachment_url(deps(), token, attachment_id), token, attachment_id)


def _redirect(link: Callable[[], Any], *parts: str) -> Response:
    """To a short-lived link to a file of the invoice; the page that says
    nothing is here when the token (or a part of the path) is unknown; a
    page that reloads itself while the file is being made (Pending)."""
    from invoicing.domain.errors import NotFound

    if any(len(part) > MAX_TOKEN for part in parts):
        return _missing()
    try:
        url = link()
    except NotFound:
        return _missing()
    if not isinstance(url, str):  # a PDF being rendered
        from invoicing.documents.html import render_pdf_wait_page

        response = html_page(202, render_pdf_wait_page(failed=False))
        response.headers.update({"Retry-After": str(url.retry_after_s), "Refresh": str(url.retry_after_s)})
        return response
    return Response(status_code=302, body="", headers={"Location": url, **security_headers()})


@router.post(
    "/pay/<token>/checkout",
    operation_id="startCheckout",
    tags=["Hosted page"],
    summary="The Pay button (a form: target = balance or an instalment id, tip = a percentage offered): "
    "to Stripe's Checkout",
    responses={
        303: {"description": "To Stripe's Checkout page"},
        404: _HTML_ERROR,
        409: _HTML_ERROR,
        422: _HTML_ERROR,
        502: _HTML_ERROR,
        503: _HTML_ERROR,
    },
)
def pay_checkout(token: PayToken):
    if len(token) > MAX_TOKEN:
        return _missing()
    from urllib.parse import parse_qsl

    from invoicing.adapters.live import payment_gateway
    from invoicing.domain.errors import Conflict, InvalidInput, NotFound, PaymentsNotConfigured
    from invoicing.logic import paypage
    from invoicing.ports import StripeRefused, StripeUnavailable

    body = router.current_event.decoded_body or ""
    form = {key: value[:64] for key, value in parse_qsl(body, keep_blank_values=True)}
    url = _page_url(token)
    retry_after: int | None = None
    try:
        checkout = paypage.checkout(deps(), payment_gateway(), token, url, form)
    except NotFound:
        return _missing()
    except PaymentsNotConfigured as error:  # deploy day: the platform's Stripe secret is not filled in yet
        status, problem, retry_after = 503, "pay_not_configured", error.retry_after_s
    except Conflict:  # paid, or the instalment chosen is, since the page was shown
        status, problem = 409, "pay_stale"
    except InvalidInput as error:
        status, problem = 422, str(error)
    except StripeRefused as error:  # the business's Stripe set-up: for the operator's eyes
        logger.error("stripe refused a checkout session", extra={"code": error.code, "status": error.status})
        status, problem = 502, "pay_refused"
    except StripeUnavailable:
        status, problem = 503, "pay_unavailable"
    else:
        return Response(status_code=303, body="", headers={"Location": checkout, **security_headers()})
    try:
        page = html_page(status, paypage.page(deps(), token, url, problem=problem))
    except NotFound:
        return _missing()
    if retry_after is not None:
        page.headers["Retry-After"] = str(retry_after)
    return page
