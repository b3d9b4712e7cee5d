"""The HTML pages the API serves — the hosted invoice page and the
invoice's preview — and the headers each sends: both show what a business
wrote (names, notes) to whoever opens them, so neither may run a script,
be framed, be sniffed as another type, be cached or leak its URL."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from invoicing.settings import settings

HTML = "text/html; charset=utf-8"


def security_headers() -> dict[str, str]:
    """No script at all; a form may post to the page itself and be sent on
    to Stripe's Checkout (or the local stand-in); the URL (the pay page's
    holds its token) never leaves in a Referer; nothing cached, nothing
    framed, nothing sniffed."""
    checkout = "https://checkout.stripe.com"
    local = settings().stripe_api_base
    form_action = f"'self' {checkout}" + (f" {local.rstrip('/')}" if local else "")
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def html_page(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=HTML, body=body, headers=security_headers())
