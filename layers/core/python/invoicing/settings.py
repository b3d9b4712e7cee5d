"""The environment a function runs in, read into one typed object on first
use, once per container: the names of its table, bucket, bus, queues and
secrets, which the stack sets (infra/wiring.py), and the few settings of
the local runtime. Nothing reads os.environ at import time; nothing but
this module reads it at all.

A function that has no bus, queue or secret has None for it: only the
functions that publish have a bus (infra/wiring.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

TABLE_ENV = "TABLE_NAME"
DOCUMENTS_BUCKET_ENV = "DOCUMENTS_BUCKET"
SWEEP_QUEUE_ENV = "SWEEP_QUEUE_URL"
SWEEP_DEAD_LETTERS_ENV = "SWEEP_DEAD_LETTERS_URL"
RENDER_QUEUE_ENV = "RENDER_QUEUE_URL"  # PDFs too large to render while a request waits
WEBHOOK_QUEUE_ENV = "WEBHOOK_QUEUE_URL"  # outgoing webhooks' deliveries, each attempt a message
EXPORT_QUEUE_ENV = "EXPORT_QUEUE_URL"  # exports' steps, a part of the file each
# The local runtime alone may call webhook endpoints on loopback (tests, demos): the stack never
# sets it, and inside Lambda's runtime it is ignored.
WEBHOOKS_LOOPBACK_ENV = "LOCAL_WEBHOOKS_ALLOW_LOOPBACK"
STRIPE_SECRET_ENV = "STRIPE_SECRET_NAME"  # the secret's name, never its value
PAY_LINK_SECRET_ENV = "PAY_LINK_SECRET_NAME"
STRIPE_API_BASE_ENV = "STRIPE_API_BASE"  # the local Stripe stand-in; unset on AWS
PUBLIC_BASE_URL_ENV = "PUBLIC_BASE_URL"
FRONTEND_ORIGINS_ENV = "FRONTEND_ORIGINS"
PLATFORM_SENDER_ENV = "DEFAULT_SENDER"
PLATFORM_NAME_ENV = "PLATFORM_NAME"  # "{business} via {platform}" in the From of its e-mails
SENDING_LIMITS_ENV = "SENDING_LIMITS"  # JSON: the platform's limits on what a tenant sends (SendingLimits)
SES_CONFIGURATION_SET_ENV = "SES_CONFIGURATION_SET"  # deployed: bounces and complaints to EventBridge
FONTS_DIR_ENV = "FONTS_DIR"
ENDPOINT_ENV = "AWS_ENDPOINT_URL"  # the local emulation; unset on AWS


# The countries whose mobile numbers get SMS unless the platform says otherwise:
# the EU and the EEA, Switzerland and the United Kingdom (SPEC §15).
EUROPE = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB",
    "GP", "MQ", "GF", "RE", "YT",  # the French overseas departments, part of the EU, with codes of their own
)  # fmt: skip


_PERCENT = re.compile(r"(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)")
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class SendingLimits:
    """What one tenant may send (SPEC §15), set by the platform, never by a
    tenant: a day is a UTC day."""

    emails_per_day: int = 200
    sms_per_day: int = 50
    per_recipient_per_day: int = 10  # from one tenant to one address or number
    platform_per_recipient_per_day: int = 50  # from every tenant together to one address or number
    extra_recipients: int = 3  # beyond the customer's own, per document
    sms_countries: tuple[str, ...] = EUROPE
    # A tenant stops sending e-mail once, over the last `window_days`, its
    # hard bounces or complaints pass SES's own review thresholds (5 % and
    # 0.1 % of what it sent), and at least so many of them: a single typo
    # in a small business's first e-mails does not suspend it.
    bounce_percent: Decimal = Decimal("5")
    complaint_percent: Decimal = Decimal("0.1")
    min_bounces: int = 5
    min_complaints: int = 3
    window_days: int = 14

    @classmethod
    def of(cls, text: str | None) -> SendingLimits:
        import json

        try:
            given = json.loads(text) if text else {}
        except ValueError:
            raise NotConfigured(f"{SENDING_LIMITS_ENV} is not JSON") from None
        if not isinstance(given, dict):
            raise NotConfigured(f"{SENDING_LIMITS_ENV} is not a JSON object of limits")
        unknown = set(given) - set(cls.__dataclass_fields__)
        if unknown:
            raise NotConfigured(f"{SENDING_LIMITS_ENV} names unknown limits: {sorted(unknown)}")
        problems = [f"{name} is not a whole number ≥ 0" for name, value in given.items()
                    if isinstance(getattr(cls, name), int) and (type(value) is not int or value < 0)]  # fmt: skip
        for percent in ("bounce_percent", "complaint_percent"):
            if percent in given:
                value = given[percent]
                if type(value) not in (int, float, str) or not _PERCENT.fullmatch(str(value)):
                    problems.append(f"{percent} is not a percentage")
                else:
                    given[percent] = Decimal(str(value))
        if "sms_countries" in given:
            countries = given["sms_countries"]
            if not isinstance(countries, list) or not all(
                isinstance(c, str) and _COUNTRY.fullmatch(c) for c in countries
            ):
                problems.append('sms_countries is not a list of ISO 3166 alpha-2 codes, e.g. ["FR", "BE"]')
            else:
                given["sms_countries"] = tuple(countries)
        if problems:
            raise NotConfigured(f"{SENDING_LIMITS_ENV}: {'; '.join(problems)}")
        return cls(**given)


class NotConfigured(RuntimeError):
    """The function needs a setting its environment does not give."""


@dataclass(frozen=True)
class Settings:
    table: str | None
    documents_bucket: str | None
    sweep_queue_url: str | None
    sweep_dead_letters_url: str | None
    render_queue_url: str | None
    webhook_queue_url: str | None
    export_queue_url: str | None
    stripe_secret_name: str | None
    pay_link_secret_name: str | None
    stripe_api_base: str | None
    public_base_url: str | None
    frontend_origins: tuple[str, ...]
    platform_sender: str | None
    platform_name: str
    sending_limits: SendingLimits
    ses_configuration_set: str | None
    fonts_dir: str | None
    emulated: bool  # AWS is the local emulation (AWS_ENDPOINT_URL)
    webhooks_allow_loopback: bool  # the local runtime's LOCAL_WEBHOOKS_ALLOW_LOOPBACK=1, nowhere else

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> Settings:
        def named(name: str) -> str | None:
            return environ.get(name) or None

        origins = (environ.get(FRONTEND_ORIGINS_ENV) or "").split(",")
        return cls(
            table=named(TABLE_ENV),
            documents_bucket=named(DOCUMENTS_BUCKET_ENV),
            sweep_queue_url=named(SWEEP_QUEUE_ENV),
            sweep_dead_letters_url=named(SWEEP_DEAD_LETTERS_ENV),
            render_queue_url=named(RENDER_QUEUE_ENV),
            webhook_queue_url=named(WEBHOOK_QUEUE_ENV),
            export_queue_url=named(EXPORT_QUEUE_ENV),
            stripe_secret_name=named(STRIPE_SECRET_ENV),
            pay_link_secret_name=named(PAY_LINK_SECRET_ENV),
            stripe_api_base=named(STRIPE_API_BASE_ENV),
            public_base_url=named(PUBLIC_BASE_URL_ENV),
            frontend_origins=tuple(origin.strip() for origin in origins if origin.strip()),
            platform_sender=named(PLATFORM_SENDER_ENV),
            platform_name=named(PLATFORM_NAME_ENV) or "Invoicing",
            sending_limits=SendingLimits.of(named(SENDING_LIMITS_ENV)),
            ses_configuration_set=named(SES_CONFIGURATION_SET_ENV),
            fonts_dir=named(FONTS_DIR_ENV),
            emulated=bool(named(ENDPOINT_ENV)),
            # never inside Lambda's own runtime (its API's address is there), whatever the variable says
            webhooks_allow_loopback=environ.get(WEBHOOKS_LOOPBACK_ENV) == "1" and not named("AWS_LAMBDA_RUNTIME_API"),
        )

    def require(self, name: str) -> str:
        """The setting `name`, or a clear failure naming the variable the stack should have set."""
        value = getattr(self, name)
        if not isinstance(value, str) or not value:
            raise NotConfigured(f"{_ENV_OF[name]} is not set: this function was deployed without it (infra/wiring.py)")
        return value


_ENV_OF = {
    "table": TABLE_ENV,
    "documents_bucket": DOCUMENTS_BUCKET_ENV,
    "sweep_queue_url": SWEEP_QUEUE_ENV,
    "sweep_dead_letters_url": SWEEP_DEAD_LETTERS_ENV,
    "render_queue_url": RENDER_QUEUE_ENV,
    "webhook_queue_url": WEBHOOK_QUEUE_ENV,
    "export_queue_url": EXPORT_QUEUE_ENV,
    "stripe_secret_name": STRIPE_SECRET_ENV,
    "pay_link_secret_name": PAY_LINK_SECRET_ENV,
}


@cache
def settings() -> Settings:
    """This container's settings, read on first use."""
    return Settings.of(os.environ)


def reread() -> None:
    """Read the environment again on next use (a test or the local runtime changed it)."""
    settings.cache_clear()
