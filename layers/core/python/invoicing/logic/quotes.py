"""An estimate's public page, `{base}/quote/{token}` (SPEC §11): where its
client reads it and accepts or declines it, without an account.

The token is derived as a payment link's is (logic.paylinks): an
HMAC-SHA256 of the tenant and the estimate's id under the platform's key,
in a message of its own, so no payment link is ever an estimate's token and
no estimate's token a payment link. The table keeps only its SHA-256 (the
QUOTE# item written with the number)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from invoicing.logic.common import Deps
from invoicing.logic.paylinks import token_hash  # noqa: F401  (one hash for both kinds of link)

VERSION = "v1"


def token(deps: Deps, tenant: str, estimate_id: str) -> str:
    assert deps.link_key is not None, "this function has the link key"
    message = f"quote/{VERSION}/{tenant}/{estimate_id}".encode()
    mac = hmac.new(deps.link_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def link(deps: Deps, tenant: str, estimate: dict[str, Any]) -> str | None:
    """The estimate's page once it is sent; functions without the key show none."""
    base = estimate.get("quote_base_url")
    if estimate["status"] == "draft" or deps.link_key is None or not base:
        return None
    return f"{base}/quote/{token(deps, tenant, estimate['id'])}"
