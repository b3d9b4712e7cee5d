"""The invoicing bus and its rules, from `wiring.EVENT_RULES`.

Each target function runs the event asynchronously: Lambda retries a failed
invocation (`EventRule.retry_attempts`), EventBridge retries a delivery that
fails (throttling, permissions), and either way the event ends in the
function's dead-letter queue, which Monitoring alarms on.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import wiring
from infra.constructs.functions import pascal

DEAD_LETTER_RETENTION = Duration.days(14)


class Bus(Construct):
    """`bus` is the EventBridge bus; `dead_letter_queues` maps each target
    function's name to the queue that keeps the events it could not handle."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        declared: tuple[wiring.Function, ...] = wiring.FUNCTIONS,
        rules: tuple[wiring.EventRule, ...] = wiring.EVENT_RULES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="invoicing: what happened to invoices")
        for fn in declared:
            if fn.publishes_events:
                self.bus.grant_put_events_to(functions[fn.name])
                functions[fn.name].add_environment(wiring.EVENT_BUS_ENV, self.bus.event_bus_name)
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for rule in rules:
            self._rule(rule, functions[rule.function])

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
            event_bus=self.bus,
            description=f"invoicing: {', '.join(rule.detail_types)} → {rule.function}",
            event_pattern=events.EventPattern(source=[wiring.EVENT_SOURCE], detail_type=list(rule.detail_types)),
            targets=[target],
        )

    def _dead_letter_queue(self, rule: wiring.EventRule, function: lambda_.Function) -> sqs.Queue:
        """One queue per target function, set up with its asynchronous
        invocation the first time a rule targets it."""
        name = rule.function
        if name in self.dead_letter_queues:
            return self.dead_letter_queues[name]
        queue = sqs.Queue(
            self,
            f"{pascal(name)}DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        NagSuppressions.add_resource_suppressions(
            queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself the dead-letter queue of the function's asynchronous "
                    "invocations and of the bus rule's deliveries; an alarm watches its depth.",
                )
            ],
        )
        function.configure_async_invoke(
            retry_attempts=rule.retry_attempts,
            max_event_age=Duration.seconds(rule.max_event_age_s),
            on_failure=destinations.SqsDestination(queue),
        )
        self.dead_letter_queues[name] = queue
        return queue
