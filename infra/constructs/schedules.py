"""The scheduled rules and the work queues, from `wiring.SCHEDULES` and
`wiring.QUEUES`.

A rule invokes its function with the wiring's input, the event's time
(the sweeps' clock) and its id (the logs' correlation id). A queue feeds its function in batches that report
failures message by message; a message failed `max_receives` times moves to
the queue's dead-letter queue, which Monitoring alarms on.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.constructs.functions import dead_letter_queue, pascal

RETENTION = Duration.days(14)


class Schedules(Construct):
    """`dead_letter_queues` maps each queue's name to its dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        crons: Mapping[str, str] | None = None,
        schedules: tuple[wiring.Schedule, ...] = wiring.SCHEDULES,
        queues: tuple[wiring.WorkQueue, ...] = wiring.QUEUES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.queues: dict[str, sqs.Queue] = {}
        for work in queues:
            self._queue(work, functions[work.function], [functions[name] for name in work.producers])
        for schedule in schedules:
            cron = (crons or {}).get(schedule.name, schedule.cron)
            events.Rule(
                self,
                f"{pascal(schedule.name)}Schedule",
                description=f"invoicing: {schedule.name}, cron({cron}) UTC → {schedule.function}",
                schedule=events.Schedule.expression(f"cron({cron})"),
                targets=[
                    targets.LambdaFunction(
                        functions[schedule.function],
                        event=events.RuleTargetInput.from_object(
                            {**schedule.input, "time": events.EventField.time, "id": events.EventField.event_id}
                        ),
                        retry_attempts=2,
                    )
                ],
            )

    def _queue(self, work: wiring.WorkQueue, function: lambda_.Function, producers: list[lambda_.Function]) -> None:
        dead_letters = dead_letter_queue(
            self,
            f"{pascal(work.name)}DeadLetters",
            keeps=f"the {work.name} queue, and of the poison messages its consumer sends"
            if work.dead_letters_env
            else f"the {work.name} queue",
        )
        queue = sqs.Queue(
            self,
            pascal(work.name),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(work.visibility_timeout_s),
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=work.max_receives),
        )
        function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=work.batch_size,
                report_batch_item_failures=True,
                max_concurrency=work.max_concurrency,
            )
        )
        for sender in [function, *(p for p in producers if p is not function)]:  # the sweeps send their next page
            queue.grant_send_messages(sender)
            sender.add_environment(work.url_env, queue.queue_url)
        if work.dead_letters_env:  # a poison invoice, alone
            dead_letters.grant_send_messages(function)
            function.add_environment(work.dead_letters_env, dead_letters.queue_url)
        self.queues[work.name] = queue
        self.dead_letter_queues[work.name] = dead_letters
