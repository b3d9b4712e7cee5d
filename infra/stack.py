"""The invoicing stack: the constructs of the architecture diagram, wired by `infra.wiring`."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import wiring
from infra.constructs.api import Api
from infra.constructs.events import Bus
from infra.constructs.functions import Functions
from infra.constructs.monitoring import Monitoring
from infra.constructs.schedules import Schedules
from infra.constructs.storage import Storage

DEFAULT_FRONTEND_ORIGINS = "http://localhost:5173"
DEFAULT_SENDER = "factures@example.com"


class InvoicingStack(Stack):
    """Context keys: `frontend_origins` (comma separated CORS origins),
    `default_sender` (the verified SES address of businesses without their
    own) and `alarm_email` (optional subscriber of the alarm topic)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        frontend_origins = self._context_list("frontend_origins", DEFAULT_FRONTEND_ORIGINS)

        self.storage = Storage(self, "Storage", spec=wiring.TABLE, upload_origins=frontend_origins)
        self.functions = Functions(
            self,
            "Functions",
            table=self.storage.table,
            bucket=self.storage.documents_bucket,
            functions=wiring.FUNCTIONS,
            # The handlers answer CORS on their own responses (proxy integration).
            environment={"FRONTEND_ORIGINS": ",".join(frontend_origins)},
        )
        self.api = Api(
            self, "Api", functions=self.functions.by_name, routes=wiring.ROUTES, frontend_origins=frontend_origins
        )
        for function in self.functions.by_name.values():
            function.add_environment("PUBLIC_BASE_URL", self.api.base_url)  # payment links: {base}/pay/{token}
        self.bus = Bus(self, "Events", functions=self.functions.by_name, table=self.storage.table)
        sender = self.node.try_get_context("default_sender") or DEFAULT_SENDER
        for fn in wiring.FUNCTIONS:
            if fn.sends_messages:  # the platform's verified sender, for businesses without their own
                self.functions.by_name[fn.name].add_environment("DEFAULT_SENDER", sender)
        # The platform's Stripe API key and webhook signing secret: set their
        # values after deploying (README); read through Powertools Parameters.
        self.stripe_secret = secretsmanager.Secret(
            self,
            "StripeSecret",
            description='Stripe: {"secret_key": "sk_…", "webhook_secret": "whsec_…"}',
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
            alarm_email=self.node.try_get_context("alarm_email"),
        )

        Aspects.of(self).add(AwsSolutionsChecks(verbose=True))

    def _context_list(self, key: str, default: str) -> list[str]:
        value = self.node.try_get_context(key) or default
        items = value if isinstance(value, list) else str(value).split(",")
        return [item.strip() for item in items if item.strip()]
