"""The platform's secrets, from AWS Secrets Manager through Powertools
Parameters: cached per container, never in an environment variable, never
logged. The environment names them only.

- Stripe's API key and webhook signing secret, a JSON object
  {"secret_key": "sk_…", "webhook_secret": "whsec_…"}.
- The key that payment links are derived from (invoicing.logic.paylinks),
  random text that the stack generates."""

from __future__ import annotations

from invoicing.settings import settings

CACHE_S = 300
MIN_KEY_CHARS = 32


def stripe_secrets() -> dict[str, str]:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings().require("stripe_secret_name"), transform="json", max_age=CACHE_S)
    assert isinstance(value, dict), "the Stripe secret is a JSON object"
    return {key: str(item) for key, item in value.items()}


def pay_link_key() -> bytes:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings().require("pay_link_secret_name"), max_age=CACHE_S)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"the payment-link key is shorter than {MIN_KEY_CHARS} characters")
    return key
