"""The scheduled rules and the work queues, from `wiring.SCHEDULES` and
`wiring.QUEUES`.

A rule invokes its function with the wiring's input, the event's time
(the sweeps' clock) and its id (the logs' correlation id). An invocation
EventBridge cannot make (throttled, refused) after its retries, or one the
function failed three times (Lambda's two retries), lands in the scheduled
function's dead-letter queue, which Monitoring alarms on: a sweep that did not
run is known the same day (the next run catches its periods up). A queue feeds
its function in batches that report failures message by message; a message
failed `max_receives` times moves to the queue's dead-letter queue, alarmed too.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.constructs.functions import dead_letter_queue, pascal

RETENTION = Duration.days(14)
SCHEDULE_RETRY_ATTEMPTS = 2  # EventBridge's, then Lambda's own two for a failed run
SCHEDULE_MAX_EVENT_AGE = Duration.hours(6)  # a daily sweep that could not start in six hours is alarmed


class Schedules(Construct):
    """`dead_letter_queues` maps each queue's name, and each scheduled
    function's `{name}-schedule`, to its dead-letter queue."""

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
            function = functions[schedule.function]
            events.Rule(
                self,
                f"{pascal(schedule.name)}Schedule",
                description=f"invoicing: {schedule.name}, cron({cron}) UTC → {schedule.function}",
                schedule=events.Schedule.expression(f"cron({cron})"),
                targets=[
                    targets.LambdaFunction(
                        function,
                        event=events.RuleTargetInput.from_object(
                            {**schedule.input, "time": events.EventField.time, "id": events.EventField.event_id}
                        ),
                        retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                        max_event_age=SCHEDULE_MAX_EVENT_AGE,
                        dead_letter_queue=self._schedule_dead_letters(schedule.function, function),
                    )
                ],
            )

    def _schedule_dead_letters(self, name: str, function: lambda_.Function) -> sqs.Queue:
        """One queue per scheduled function, for its rules' targets and its
        asynchronous invocations (EventBridge invokes it asynchronously)."""
        key = f"{name}-schedule"
        if key in self.dead_letter_queues:
            return self.dead_letter_queues[key]
        queue = dead_letter_queue(
            self,
            f"{pascal(name)}ScheduleDeadLetters",
            keeps=f"the scheduled rules' invocations of {name}, and of the runs it failed",
        )
        function.configure_async_invoke(
            retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
            max_event_age=SCHEDULE_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(queue),
        )
        self.dead_letter_queues[key] = queue
        return queue

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
        if work.sets_own_visibility:  # hides the messages it keeps for later (ChangeMessageVisibility)
            queue.grant(function, "sqs:ChangeMessageVisibility")
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
