"""The invoicing bus, its rules (`wiring.EVENT_RULES`) and the pipe that
feeds it (`wiring.PIPE`): the table's change stream → EventBridge Pipes →
the enrichment function (the events each change holds) → the bus.

Each target function runs the event asynchronously: Lambda retries a failed
invocation (`EventRule.retry_attempts`), EventBridge retries a delivery that
fails (throttling, permissions), and either way the event ends in the
function's dead-letter queue, which Monitoring alarms on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import wiring
from infra.constructs.functions import dead_letter_queue, pascal


class Bus(Construct):
    """`bus` is the EventBridge bus; `dead_letter_queues` maps each target
    function's name to the queue that keeps the events it could not handle."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        table: dynamodb.ITable,
        rules: tuple[wiring.EventRule, ...] = wiring.EVENT_RULES,
        pipe: wiring.StreamPipe = wiring.PIPE,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="invoicing: what happened to invoices")
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for rule in rules:
            self._rule(rule, functions[rule.function])
        self.pipe = self._pipe(pipe, table, functions[pipe.enrichment])

    def _pipe(
        self, declared: wiring.StreamPipe, table: dynamodb.ITable, enrichment: lambda_.IFunction
    ) -> pipes.CfnPipe:
        """The table's stream to the bus. A batch the enrichment or the bus
        fails is retried (halved to isolate a bad record) until its records
        are `max_record_age_s` old; then the dead-letter queue keeps where
        they were in the stream (24 hours to replay them) and its alarm fires."""
        dead_letters = dead_letter_queue(self, "PipeDeadLetters", keeps="the pipe (where its records were)")
        role = iam.Role(self, "PipeRole", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"))
        table.grant_stream_read(role)
        enrichment.grant_invoke(role)
        self.bus.grant_put_events_to(role)
        dead_letters.grant_send_messages(role)
        stream = pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
            starting_position="TRIM_HORIZON",
            batch_size=declared.batch_size,
            maximum_record_age_in_seconds=declared.max_record_age_s,
            maximum_retry_attempts=-1,  # until the record's age above
            on_partial_batch_item_failure="AUTOMATIC_BISECT",
            dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
        )
        pattern = json.dumps(declared.filter_pattern())
        pipe = pipes.CfnPipe(
            self,
            "ChangesPipe",
            description="invoicing: the table's changes → the events they hold → the bus (SPEC §16)",
            role_arn=role.role_arn,
            source=table.table_stream_arn or "",
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=stream,
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=pattern)]
                ),
            ),
            enrichment=enrichment.function_arn,
            target=self.bus.event_bus_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                input_template="<$.detail>",  # the enrichment answers {"detail_type", "detail"} per event
                event_bridge_event_bus_parameters=pipes.CfnPipe.PipeTargetEventBridgeEventBusParametersProperty(
                    detail_type="$.detail_type", source=wiring.EVENT_SOURCE
                ),
            ),
        )
        policy = role.node.find_child("DefaultPolicy")
        pipe.node.add_dependency(policy)  # Pipes checks its role's access when it starts
        NagSuppressions.add_resource_suppressions(
            policy,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="dynamodb:ListStreams takes no resource: CDK's grantStreamRead grants it on *; every "
                    "other stream action is on the table's stream only.",
                    applies_to=["Resource::*"],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="lambda:InvokeFunction on the enrichment function and its versions (CDK's grantInvoke).",
                    applies_to=[f"Resource::<{Stack.of(self).get_logical_id(enrichment.node.default_child)}.Arn>:*"],
                ),
            ],
        )
        self.dead_letter_queues["pipe"] = dead_letters
        return pipe

    def _rule(self, rule: wiring.EventRule, function: lambda_.Function) -> None:
        dead_letters = self._dead_letter_queue(rule, function)
        target = targets.LambdaFunction(
            function,
            dead_letter_queue=dead_letters,
            retry_attempts=rule.retry_attempts,
            max_event_age=Duration.seconds(rule.max_event_age_s),
        )
        events.Rule(
            self,
            f"{pascal(rule.name)}Rule",
            event_bus=self._default_bus() if rule.default_bus else self.bus,
            description=f"invoicing: {', '.join(rule.detail_types)} → {rule.function}",
            event_pattern=events.EventPattern(source=[rule.source], detail_type=list(rule.detail_types)),
            targets=[target],
        )

    def _default_bus(self) -> events.IEventBus:
        """The account's default bus, where AWS services (SES) put their events."""
        found = self.node.try_find_child("DefaultBus")
        return found or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")  # type: ignore[return-value]

    def _dead_letter_queue(self, rule: wiring.EventRule, function: lambda_.Function) -> sqs.Queue:
        """One queue per target function, set up with its asynchronous
        invocation the first time a rule targets it."""
        name = rule.function
        if name in self.dead_letter_queues:
            return self.dead_letter_queues[name]
        queue = dead_letter_queue(
            self,
            f"{pascal(name)}DeadLetters",
            keeps="the function's asynchronous invocations and of the bus rule's deliveries",
        )
        function.configure_async_invoke(
            retry_attempts=rule.retry_attempts,
            max_event_age=Duration.seconds(rule.max_event_age_s),
            on_failure=destinations.SqsDestination(queue),
        )
        self.dead_letter_queues[name] = queue
        return queue
