"""The platform's secrets, from AWS Secrets Manager through Powertools
Parameters: cached per container, never in an environment variable, never
logged. The environment names them only.

- Stripe's API key and webhook signing secret, a JSON object
  {"secret_key": "sk_…", "webhook_secret": "whsec_…"}.
- The key that payment links are derived from (invoicing.logic.paylinks),
  random text that the stack generates."""

from __future__ import annotations

import os

STRIPE_SECRET_ENV = "STRIPE_SECRET_NAME"  # the secret's name, not its value
PAY_LINK_SECRET_ENV = "PAY_LINK_SECRET_NAME"
CACHE_S = 300
MIN_KEY_CHARS = 32


def stripe_secrets() -> dict[str, str]:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(os.environ[STRIPE_SECRET_ENV], transform="json", max_age=CACHE_S)
    assert isinstance(value, dict), "the Stripe secret is a JSON object"
    return {key: str(item) for key, item in value.items()}


def pay_link_key() -> bytes:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(os.environ[PAY_LINK_SECRET_ENV], max_age=CACHE_S)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"the payment-link key is shorter than {MIN_KEY_CHARS} characters")
    return key
