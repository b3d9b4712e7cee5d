"""A business's Stripe account, as the tests give one: created through
`POST /business/stripe/onboarding` on the local stand-in for Stripe, and
onboarded there, its `account.updated` delivered signed as Stripe sends it
(by the stand-in itself under the local runtime)."""

from __future__ import annotations

import json
import time
from typing import Any

from invoicing.logic.stripe_events import sign

SECRET = "whsec_local_dev"


def onboard(api: Any, standin: Any, tenant: str = "acme", *, complete: bool = True) -> str:
    """The tenant's account id; taking payments unless `complete` is False."""
    reply = api.post("/business/stripe/onboarding", tenant=tenant)
    assert reply.status == 200, reply.body
    account: str = reply.body["stripe_account_id"]
    if complete:
        for event in standin.complete_onboarding(account):
            if standin.webhook_url is None:  # in-process: nobody listens, so the test delivers it
                assert deliver(api, event).body["outcome"] == "account updated"
    return account


def deliver(api: Any, event: dict[str, Any], secret: str = SECRET) -> Any:
    """A Stripe event, signed with the test secret as Stripe signs it."""
    payload = json.dumps(event)
    header = sign(payload.encode(), secret, int(time.time()))
    return api.call("POST", "/webhooks/stripe", raw=payload, headers={"Stripe-Signature": header}, tenant=None)
