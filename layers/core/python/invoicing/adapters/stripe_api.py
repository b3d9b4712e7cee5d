"""Stripe's HTTP API, for the calls the system makes: a Checkout Session
(the hosted page's Pay button, or a setup link saving a card or an IBAN),
a PaymentIntent confirmed off-session (a saved card), the business's
clients as Stripe customers and the payment methods saved to them — each
on the business's connected account (Stripe-Account), the writes with an
idempotency key, so a retry — the library's own, on a lost connection, or
the client's second click — creates nothing twice; and, on the platform
itself, the business's connected account (created once, read) and the
links to Stripe's onboarding of it.

The `stripe` library loads here, on the first call, in the functions that
make one (pay, api, webhooks: a saved method's details). STRIPE_API_BASE
points it at a local stand-in (infra/local/stripe_standin.py); unset on
AWS, it reaches api.stripe.com."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from invoicing.ports import CardFailed, StripeRefused, StripeUnavailable
from invoicing.settings import settings

NETWORK_RETRIES = 2  # the library retries a lost connection with the same idempotency key


class StripeApi:
    def __init__(self, secret_key: Callable[[], str]) -> None:
        self._secret_key = secret_key  # read at each call: a rolled key is taken up

    def create_checkout_session(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self._call(lambda client, options: client.v1.checkout.sessions.create(params, options), account, key)

    def confirm_off_session(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self._call(lambda client, options: client.v1.payment_intents.create(params, options), account, key)

    def create_account(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self._call(lambda client, options: client.v1.accounts.create(params, options), None, key)

    def retrieve_account(self, account: str) -> dict[str, Any]:
        return self._call(lambda client, options: client.v1.accounts.retrieve(account, None, options), None, None)

    def create_account_link(self, params: dict[str, Any]) -> dict[str, Any]:
        # a new link each time (they are single-use): the library's own key covers its retries
        return self._call(lambda client, options: client.v1.account_links.create(params, options), None, None)

    def create_customer(self, account: str | None, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self._call(lambda client, options: client.v1.customers.create(params, options), account, key)

    def retrieve_setup_intent(self, account: str | None, setup_intent: str) -> dict[str, Any]:
        expand = {"expand": ["payment_method"]}  # the saved method's details in the same answer
        return self._call(
            lambda client, options: client.v1.setup_intents.retrieve(setup_intent, expand, options), account, None
        )

    def retrieve_payment_method(self, account: str | None, payment_method: str) -> dict[str, Any]:
        return self._call(
            lambda client, options: client.v1.payment_methods.retrieve(payment_method, None, options), account, None
        )

    def detach_payment_method(self, account: str | None, payment_method: str) -> dict[str, Any]:
        # detaching twice is refused by Stripe (the method is no longer attached), never done twice
        return self._call(
            lambda client, options: client.v1.payment_methods.detach(payment_method, None, options), account, None
        )

    def _call(self, request: Any, account: str | None, key: str | None) -> dict[str, Any]:
        import stripe

        options: dict[str, Any] = {"idempotency_key": key} if key else {}
        if account:
            options["stripe_account"] = account
        try:
            result: dict[str, Any] = request(_client(self._secret_key()), options).to_dict()
        except stripe.CardError as error:
            body = (error.json_body or {}).get("error") or {}
            intent = body.get("payment_intent") if isinstance(body.get("payment_intent"), dict) else None
            raise CardFailed(error.code or "card_declined", error.user_message or str(error),
                             body.get("decline_code"), intent) from None  # fmt: skip
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise StripeUnavailable(str(error)) from None
        except stripe.StripeError as error:
            raise StripeRefused(error.code, error.user_message or str(error), error.http_status) from None
        return result


@cache
def _client(secret_key: str) -> Any:
    """One client per key (a rolled key makes a new one). urllib, not
    requests: one library less to load."""
    import stripe

    base = settings().stripe_api_base
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": base} if base else None,
        http_client=stripe.UrllibClient(),
        max_network_retries=NETWORK_RETRIES,
    )
