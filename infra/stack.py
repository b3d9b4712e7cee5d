"""The invoicing stack: the constructs of the architecture diagram, wired by `infra.wiring`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Aspects, CfnOutput, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions
from constructs import Construct, Node

from infra import wiring
from infra.constructs.api import Api
from infra.constructs.events import Bus
from infra.constructs.firewall import Firewall
from infra.constructs.functions import SES_SEND_ACTIONS, Functions
from infra.constructs.monitoring import Monitoring
from infra.constructs.schedules import Schedules
from infra.constructs.storage import Storage

# What a real deployment must name (SPEC §15): the platform's verified SES
# address, the frontend's origins (CORS, uploads) and who gets the alarms.
REQUIRED_CONTEXT = ("platform_sender", "frontend_origins", "alarm_email")
# `-c profile=dev` fills what is missing with the local runtime's values (and
# no alarm subscriber): for `make synth`, the tests' checks of a dev template,
# a throwaway account. Never for the platform's customers.
DEV_PROFILE = "dev"
DEV_DEFAULTS: dict[str, str] = {
    "platform_sender": "factures@invoicing.local",
    "frontend_origins": "http://localhost:5173",
}
# Before `platform_sender`, the context key was `default_sender`: still read.
FORMER_NAMES = {"platform_sender": "default_sender"}
# Lambda keeps 100 of the account's concurrent executions unreserved, always:
# a stack whose reservations leave fewer is refused at deployment. The quota is
# 1,000 in most accounts, often 10 in a new one (`account_concurrency`).
UNRESERVED_MIN = 100
DEFAULT_ACCOUNT_CONCURRENCY = 1000
# The Stripe secret as the functions read it (invoicing.adapters.secrets):
# created with its keys and empty values, which the operator fills; until
# then the payment routes answer 503 "payments not configured". Never change
# it once deployed: CloudFormation would write it over the values filled in.
STRIPE_SECRET_SHAPE = {"secret_key": "", "webhook_secret": ""}

_EMAIL = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")
_ORIGIN = re.compile(r"^https?://[^/\s,]+$")


class ContextError(ValueError):
    """The deployment's context is missing or wrong: nothing is synthesized."""


@dataclass(frozen=True)
class DeployContext:
    platform_sender: str
    frontend_origins: tuple[str, ...]
    alarm_email: str | None
    # By function name: its reserved concurrency (None: the account's pool).
    reserved_concurrency: dict[str, int | None]
    # What a tenant may send (invoicing.settings.SendingLimits, JSON) and the platform's
    # name in the From of its e-mails: the functions' defaults when not given.
    sending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Node) -> DeployContext:
        """Read and check the context; ContextError names every problem at once."""
        profile = node.try_get_context("profile")
        if profile not in (None, DEV_PROFILE):
            raise ContextError(f"unknown profile {profile!r}: the only profile is {DEV_PROFILE!r}")
        given = {key: _given(node, key) for key in REQUIRED_CONTEXT}
        required = REQUIRED_CONTEXT
        if profile == DEV_PROFILE:  # alarms notify no one, unless named
            given = {key: value or DEV_DEFAULTS.get(key) for key, value in given.items()}
            required = tuple(DEV_DEFAULTS)
        missing = [key for key in required if not given[key]]
        if missing:
            raise ContextError(
                f"missing deploy context: {', '.join(missing)}. A deployment names the platform's verified SES "
                "sender, the frontend's origins and the alarms' recipient, e.g. `-c platform_sender=factures@"
                "example.com -c frontend_origins=https://app.example.com -c alarm_email=ops@example.com` (or in "
                f"cdk.json's context); `-c profile={DEV_PROFILE}` fills them with local values (README: Deploying)."
            )
        origins = tuple(_items(given["frontend_origins"]))
        problems = [
            f"{key} {value!r} is not an e-mail address"
            for key in ("platform_sender", "alarm_email")
            if (value := given[key]) and not _EMAIL.match(str(value))
        ]
        problems += [
            f"frontend origin {origin!r} is not scheme://host[:port] (no path, no trailing /)"
            for origin in origins
            if not _ORIGIN.match(origin)
        ]
        if not origins:
            problems.append("frontend_origins names no origin")
        reserved = _reserved_concurrency(node.try_get_context("reserved_concurrency"), problems)
        account = node.try_get_context("account_concurrency") or DEFAULT_ACCOUNT_CONCURRENCY
        total = sum(count or 0 for count in reserved.values())
        if not str(account).isdigit():
            problems.append(f"account_concurrency {account!r} is not a number")
        elif total and total > int(account) - UNRESERVED_MIN:
            problems.append(
                f"the functions reserve {total} concurrent executions, which would leave fewer than "
                f"{UNRESERVED_MIN} of the account's {account} unreserved (Lambda refuses it): ask for a higher "
                "quota (Service Quotas: Lambda concurrent executions), or `-c reserved_concurrency=off`"
            )
        sending = _sending(node, problems)
        if problems:
            raise ContextError("; ".join(problems))
        return cls(str(given["platform_sender"]), origins, given["alarm_email"] or None, reserved, sending)


def _sending(node: Node, problems: list[str]) -> dict[str, str]:
    """`platform_name` and `sending_limits` (JSON, or an object in cdk.json),
    checked as the functions will read them."""
    from invoicing.settings import PLATFORM_NAME_ENV, SENDING_LIMITS_ENV, NotConfigured, SendingLimits

    environment = {}
    name = node.try_get_context("platform_name")
    if name:
        environment[PLATFORM_NAME_ENV] = str(name)
    limits = node.try_get_context("sending_limits")
    if limits:
        text = limits if isinstance(limits, str) else json.dumps(limits)
        try:
            SendingLimits.of(text)
        except (NotConfigured, ValueError, TypeError) as error:
            problems.append(f"sending_limits: {error}")
        environment[SENDING_LIMITS_ENV] = text
    return environment


def _given(node: Node, key: str) -> Any:
    value = node.try_get_context(key)
    if not value and key in FORMER_NAMES:
        value = node.try_get_context(FORMER_NAMES[key])
    return value


def _items(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _reserved_concurrency(value: Any, problems: list[str]) -> dict[str, int | None]:
    """The wiring's reservations, or none (`off`: an account whose quota
    cannot spare them), or the wiring's with some changed: a mapping, in
    cdk.json, or `name=count,name=count` on the command line."""
    declared = {fn.name: fn.reserved_concurrency for fn in wiring.FUNCTIONS}
    if value in (None, "", True, "on"):
        return declared
    if value in (False, "off", "none", "false"):
        return dict.fromkeys(declared)
    if isinstance(value, str):
        value = dict(item.partition("=")[::2] for item in _items(value))
    if not isinstance(value, Mapping):
        problems.append(f"reserved_concurrency {value!r} is neither `off` nor function=count pairs")
        return declared
    changed: dict[str, int | None] = {}
    for name, count in value.items():
        if name not in declared:
            problems.append(f"reserved_concurrency names {name!r}, which is no function of the wiring")
        elif count in (None, "", "none", "off"):
            changed[name] = None
        elif str(count).isdigit() and int(count) > 0:
            changed[name] = int(count)
        else:
            problems.append(f"reserved_concurrency of {name}: {count!r} is not a positive number")
    return {**declared, **changed}


class InvoicingStack(Stack):
    """Context keys (README: Deploying): `platform_sender` (the platform's
    verified SES address, for businesses without their own), `frontend_origins`
    (comma separated CORS origins) and `alarm_email` (every alarm's recipient),
    required unless `profile=dev`; `reserved_concurrency` and
    `account_concurrency`; `{schedule}_cron`."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.deploy_context = context = DeployContext.of(self.node)
        frontend_origins = list(context.frontend_origins)

        self.storage = Storage(self, "Storage", spec=wiring.TABLE, upload_origins=frontend_origins)
        self.functions = Functions(
            self,
            "Functions",
            table=self.storage.table,
            bucket=self.storage.documents_bucket,
            functions=wiring.FUNCTIONS,
            # The handlers answer CORS on their own responses (proxy integration).
            environment={"FRONTEND_ORIGINS": ",".join(frontend_origins)},
            reserved_concurrency=context.reserved_concurrency,
            platform_sender=context.platform_sender,
        )
        for function in self.functions.by_name.values():  # the API refuses sends past them, delivery counts
            for name, value in context.sending.items():
                function.add_environment(name, value)
        self.api = Api(
            self, "Api", functions=self.functions.by_name, routes=wiring.ROUTES, frontend_origins=frontend_origins
        )
        self.firewall = Firewall(self, "Firewall", stage=self.api.rest_api.deployment_stage)
        for function in self.functions.by_name.values():
            function.add_environment("PUBLIC_BASE_URL", self.api.base_url)  # payment links: {base}/pay/{token}
        self.bus = Bus(self, "Events", functions=self.functions.by_name, table=self.storage.table)
        CfnOutput(self, "EventBusName", value=self.bus.bus.event_bus_name,
                  description="the invoicing bus: what the table's changes hold (a platform's own rules may "
                  "listen); the CRM's events reach its endpoints as signed webhooks (SPEC §13)")  # fmt: skip
        CfnOutput(self, "TableName", value=self.storage.table.table_name,
                  description="the table: TABLE_NAME of the operator's commands (python -m infra.admin)")  # fmt: skip
        feedback = self._sending_feedback()
        for fn in wiring.FUNCTIONS:
            if fn.sends_messages:  # the platform's verified sender, for businesses without their own
                function = self.functions.by_name[fn.name]
                function.add_environment(wiring.PLATFORM_SENDER_ENV, context.platform_sender)
                function.add_environment(wiring.SES_CONFIGURATION_SET_ENV, feedback.configuration_set_name)
                # SES authorizes a send on the identity and on the configuration set it names
                feedback_arn = self.format_arn(
                    service="ses", resource="configuration-set", resource_name=feedback.configuration_set_name
                )
                sending = iam.PolicyStatement(actions=list(SES_SEND_ACTIONS), resources=[feedback_arn])
                function.add_to_role_policy(sending)
        # The platform's Stripe API key and webhook signing secret: the operator
        # writes them after deploying (README); read through Powertools Parameters.
        self.stripe_secret = secretsmanager.Secret(
            self,
            "StripeSecret",
            description='Stripe: {"secret_key": "sk_…", "webhook_secret": "whsec_…"}, empty until filled',
            secret_string_value=SecretValue.unsafe_plain_text(json.dumps(STRIPE_SECRET_SHAPE)),  # no secret in it
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            self.stripe_secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="Stripe keys are rolled in Stripe's dashboard, not by a Lambda rotation: the operator "
                    "rolls them there and writes the new values here.",
                )
            ],
        )
        CfnOutput(self, "StripeSecretName", value=self.stripe_secret.secret_name,
                  description="write {secret_key, webhook_secret} here after deploying")  # fmt: skip
        # The key payment links are derived from (invoicing.logic.paylinks):
        # generated here, never seen by anyone; rotating it changes every link.
        self.pay_link_secret = secretsmanager.Secret(
            self,
            "PayLinkKey",
            description="The key of the hosted invoice page's links (HMAC-SHA256)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            self.pay_link_secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="Rotating the key would break every payment link already e-mailed to clients.",
                )
            ],
        )
        for fn in wiring.FUNCTIONS:
            function = self.functions.by_name[fn.name]
            if fn.reads_stripe_secret:
                self.stripe_secret.grant_read(function)
                function.add_environment(wiring.STRIPE_SECRET_ENV, self.stripe_secret.secret_name)
            if fn.signs_pay_links:
                self.pay_link_secret.grant_read(function)
                function.add_environment(wiring.PAY_LINK_SECRET_ENV, self.pay_link_secret.secret_name)
        # The sweeps' rules (context `{name}_cron` moves one) and their work queue.
        crons = {schedule.name: self.node.try_get_context(f"{schedule.name}_cron") for schedule in wiring.SCHEDULES}
        self.schedules = Schedules(
            self, "Schedules", functions=self.functions.by_name, crons={k: v for k, v in crons.items() if v}
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=self.functions.by_name,
            rest_api=self.api.rest_api,
            table=self.storage.table,
            dead_letter_queues={**self.bus.dead_letter_queues, **self.schedules.dead_letter_queues},
            pipe_name=self.bus.pipe.ref,
            alarm_email=context.alarm_email,
        )

        Aspects.of(self).add(AwsSolutionsChecks(verbose=True))

    def _sending_feedback(self) -> ses.ConfigurationSet:
        """The configuration set every e-mail names: SES keeps addresses that
        bounced or complained off its sends (the suppression list), and puts
        its hard bounces and complaints on the account's default bus, where
        the `ses-feedback` rule hands them to the delivery function, which
        suspends a tenant past SES's thresholds (SPEC §15)."""
        feedback = ses.ConfigurationSet(
            self,
            "SendingFeedback",
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        ses.ConfigurationSetEventDestination(
            self,
            "SendingFeedbackToEventBridge",
            configuration_set=feedback,
            destination=ses.EventDestination.event_bus(
                events.EventBus.from_event_bus_name(self, "DefaultEventBus", "default")
            ),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        return feedback
