"""Alarms on the functions, the API, the table and the deliveries, notifying
one encrypted SNS topic, which e-mails the operator (`alarm_email`)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.constructs.functions import pascal

PERIOD = Duration.minutes(5)

# What the handlers count through Powertools Metrics: the namespace and the one
# dimension, `service`, Powertools adds from POWERTOOLS_SERVICE_NAME.
APPLICATION_NAMESPACE = wiring.FUNCTION_ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE_DIMENSION = {"service": wiring.FUNCTION_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]}
# Deliveries that failed because the platform is set up wrong (an unverified
# sender, SES's sandbox, SMS not enabled...), not because of one recipient:
# every delivery fails so until an operator acts, and the API still answered 202.
DELIVERIES_MISCONFIGURED = "DeliveriesMisconfigured"
# Stripe's signed events that could not be applied (an account of no tenant's or
# of another's, an invoice unknown, an amount that does not fit): parked, not
# lost, until an operator fixes the cause and replays them (python -m infra.admin).
STRIPE_EVENTS_PARKED = "StripeEventsParked"
# The application's own metrics that call an operator at the first one in a period.
APPLICATION_ALARMS = {
    DELIVERIES_MISCONFIGURED: "Deliveries failed for a reason of the platform's setup (SES sender, sandbox, SMS): "
    "fix it, they all fail",
    STRIPE_EVENTS_PARKED: "A Stripe event could not be applied and was parked: fix its cause, then replay it "
    "(python -m infra.admin stripe-parked, stripe-replay)",
}

# The account's administrators manage and use the key through IAM, as with
# the usual `kms:*` root statement, but spelled out: no wildcard action
# anywhere. kms:PutKeyPolicy keeps the key governable (lockout safety).
KEY_ACCOUNT_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
# What CloudWatch needs to publish alarm notifications to an encrypted topic.
KEY_CLOUDWATCH_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]

CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        rest_api: apigw.RestApi,
        table: dynamodb.ITable,
        dead_letter_queues: Mapping[str, sqs.IQueue] | None = None,
        pipe_name: str | None = None,
        alarm_email: str | None = None,
    ) -> None:
        """`alarm_email` subscribes to every alarm (the stack requires it but
        in its dev profile); SNS e-mails it a confirmation link first."""
        super().__init__(scope, construct_id)
        self.topic = self._topic()
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cloudwatch_actions.SnsAction(self.topic)

        for name, function in functions.items():
            self._alarm(f"{pascal(name)}Errors", function.metric_errors(period=PERIOD), f"Lambda {name} failed")
            self._alarm(
                f"{pascal(name)}Throttles", function.metric_throttles(period=PERIOD), f"Lambda {name} was throttled"
            )
        for name, queue in (dead_letter_queues or {}).items():
            self._alarm(
                f"{pascal(name)}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
                f"Events that {name} could not handle wait in its dead-letter queue",
            )
        if pipe_name is not None:
            failed = cloudwatch.Metric(
                namespace="AWS/EventBridge/Pipes",
                metric_name="ExecutionFailed",
                dimensions_map={"PipeName": pipe_name},
                period=PERIOD,
                statistic=cloudwatch.Stats.SUM,
            )
            self._alarm("PipeExecutionFailed", failed, "The pipe from the table's stream to the bus failed a batch")
        self._alarm("Api5xx", rest_api.metric_server_error(period=PERIOD), "The API answered 5xx")
        for metric_name, description in APPLICATION_ALARMS.items():
            counted = cloudwatch.Metric(
                namespace=APPLICATION_NAMESPACE,
                metric_name=metric_name,
                dimensions_map=SERVICE_DIMENSION,
                period=PERIOD,
                statistic=cloudwatch.Stats.SUM,
            )
            self._alarm(metric_name, counted, description)
        for metric_name in ("ReadThrottleEvents", "WriteThrottleEvents"):
            self._alarm(
                f"Table{metric_name}",
                table.metric(metric_name, period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"DynamoDB {metric_name} on the invoicing table",
            )

    def _topic(self) -> sns.Topic:
        stack = Stack.of(self)
        # A customer managed key: CloudWatch cannot use the AWS managed alias/aws/sns.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the invoicing alarm topic",
            enable_key_rotation=True,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        principals=[iam.AccountRootPrincipal()], actions=KEY_ACCOUNT_ACTIONS, resources=["*"]
                    ),
                    iam.PolicyStatement(principals=[CLOUDWATCH], actions=KEY_CLOUDWATCH_ACTIONS, resources=["*"]),
                ]
            ),
        )
        topic = sns.Topic(self, "AlarmTopic", display_name="Invoicing alarms", master_key=key, enforce_ssl=True)
        # enforce_ssl replaces the default topic policy, so let CloudWatch in explicitly.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[CLOUDWATCH],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        return topic

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
