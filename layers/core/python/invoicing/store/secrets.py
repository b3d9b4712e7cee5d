"""The platform's Stripe secrets (its API key and the webhook signing
secret), from AWS Secrets Manager through Powertools Parameters: cached for
a few minutes per container, never in an environment variable, never logged.
The secret is a JSON object {"secret_key": "sk_…", "webhook_secret": "whsec_…"}."""

from __future__ import annotations

import os

STRIPE_SECRET_ENV = "STRIPE_SECRET_NAME"  # the secret's name, not its value
CACHE_S = 300


def stripe_secrets() -> dict[str, str]:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(os.environ[STRIPE_SECRET_ENV], transform="json", max_age=CACHE_S)
    assert isinstance(value, dict), "the Stripe secret is a JSON object"
    return {key: str(item) for key, item in value.items()}
