"""Payment links, `{base}/pay/{token}` (SPEC §5): the client's way to the
hosted invoice page, without an account.

The token is an HMAC-SHA256 of the invoice's tenant and id under the
platform's key (adapters.secrets.pay_link_key): 256 bits no one can guess, and
derived again whenever the link is shown. The table keeps only the token's
SHA-256 (the PAY# item written with the number), so whoever reads the table
or a backup holds no link. Voiding the invoice revokes its link: the page
answers 404 and the invoice shows no link any more."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from invoicing.logic.common import Deps

VERSION = "v1"  # in the MAC's message: a new scheme never collides with this one


def token(deps: Deps, tenant: str, invoice_id: str) -> str:
    assert deps.link_key is not None, "this function has the payment-link key"
    message = f"pay/{VERSION}/{tenant}/{invoice_id}".encode()
    mac = hmac.new(deps.link_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def link(deps: Deps, tenant: str, invoice: dict[str, Any]) -> str | None:
    """The invoice's link: issued and not void, else none. Functions
    without the key (documents, webhooks) never show invoices to anyone."""
    base = invoice.get("pay_base_url")
    if invoice["status"] in ("draft", "void") or deps.link_key is None:
        return None
    if not base:  # issued before links were derived: the link it was sent with
        return invoice.get("payment_link")
    return f"{base}/pay/{token(deps, tenant, invoice['id'])}"
