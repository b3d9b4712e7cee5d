"""The platform's secrets, from AWS Secrets Manager through Powertools
Parameters: cached per container, never in an environment variable, never
logged. The environment names them only.

- Stripe's API key and webhook signing secret, a JSON object
  {"secret_key": "sk_…", "webhook_secret": "whsec_…"}. The stack creates
  it with empty values; until the operator fills it, the payment routes
  answer 503 payments_not_configured (invoicing.adapters.live.stripe_secret).
- The key that payment links are derived from (invoicing.logic.paylinks),
  random text that the stack generates."""

from __future__ import annotations

from invoicing.domain.errors import PaymentsNotConfigured
from invoicing.settings import settings
from invoicing.transient import code_of, is_transient

CACHE_S = 300
MIN_KEY_CHARS = 32


def stripe_secrets() -> dict[str, str]:
    """Its string values; PaymentsNotConfigured while it is missing, not
    JSON or not a JSON object (a service too busy to answer is raised as
    it came: the API answers 503 busy)."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

    try:
        value = parameters.get_secret(settings().require("stripe_secret_name"), transform="json", max_age=CACHE_S)
    except TransformParameterError:
        raise not_configured("the Stripe secret is not JSON") from None
    except GetParameterError as error:  # Powertools keeps botocore's error as the context only
        cause = error.__context__
        if cause is not None and is_transient(cause):
            raise cause from None
        if cause is not None and code_of(cause) == "ResourceNotFoundException":
            raise not_configured("there is no Stripe secret (or it has no value)") from None
        raise
    if not isinstance(value, dict):
        raise not_configured("the Stripe secret is not a JSON object")
    return {key: item for key, item in value.items() if isinstance(item, str)}


def not_configured(detail: str) -> PaymentsNotConfigured:
    """Asked again after the secret's cache has lapsed, the answer may be otherwise."""
    return PaymentsNotConfigured(
        f"payments are not configured yet ({detail}): the platform's operator fills the Stripe secret", CACHE_S
    )


def pay_link_key() -> bytes:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings().require("pay_link_secret_name"), max_age=CACHE_S)
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"the payment-link key is shorter than {MIN_KEY_CHARS} characters")
    return key
