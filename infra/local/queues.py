"""SQS event sources, locally: the work queues of `wiring.QUEUES` live in
the emulation (moto, with their redrive policy), and a poller hands their
messages to the consuming function in Lambda's SQS event shape, as Lambda's
event source mapping does: the messages the function reports as failed
(`batchItemFailures`) come back after a short visibility timeout, the
others are deleted; moto moves a message received `max_receives` times to
the dead-letter queue.

The scheduled sweeps fill their queue when the tick fires them, and the
tick drains it. The sweeps answer, beside the failures, what their pages
did (`done`); the poller sums it for the tick's summary. The other queues
(the PDFs queued by requests) are read `InBackground`, as on AWS."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import Any

from infra import wiring
from infra.local.lambdas import Lambdas

POLL_S = 0.1  # moto serves one request at a time: no long polling
RETRY_VISIBILITY_S = 1  # a failed message is seen again soon (SQS: the queue's visibility timeout)
POLLERS = 4
# An idle queue is read every 2 s: the runtime's functions send the messages, and
# each invocation that ends wakes the readers (`wake`), so a message is read at
# once; functions ending one after another make one look every POLL_S at most.
BACKGROUND_POLL_S = 2.0

logger = logging.getLogger(__name__)


def create_work_queues(sqs: Any) -> dict[str, tuple[str, str]]:
    """Each work queue and its dead-letter queue, as the stack makes them:
    name → (queue URL, dead-letter queue URL)."""
    made = {}
    for work in wiring.QUEUES:
        dead = sqs.create_queue(QueueName=f"invoicing-{work.name}-dead-letters")["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(work.max_receives)})
        queue = sqs.create_queue(
            QueueName=f"invoicing-{work.name}",
            Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(work.visibility_timeout_s)},
        )["QueueUrl"]
        made[work.name] = (queue, dead)
    return made


class QueuePoller:
    """A queue's event source: `drain` hands the queue's messages to the
    function, several batches at once, until nothing is left, visible or in
    flight. The tick drains the sweeps' queue; `InBackground` drains the
    others all the time, and stops when the runtime pauses (its moto server
    shares this process with the tests' in-process mocks, whose messages a
    running poller would take)."""

    def __init__(self, sqs: Any, lambdas: Lambdas, work: wiring.WorkQueue, url: str) -> None:
        self.sqs, self.lambdas, self.work, self.url = sqs, lambdas, work, url
        self.done: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._busy = 0  # batches in a function's hands

    def drain(self, timeout_s: float = 120.0, pollers: int = POLLERS) -> bool:
        """False if work was still left after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        threads = [threading.Thread(target=self._work, args=(deadline,), daemon=True) for _ in range(pollers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 1)
        return self.empty()

    def empty(self) -> bool:
        """Nothing visible, nothing in a worker's hands. A queue whose consumer
        hides the messages it keeps for later (`sets_own_visibility`: a
        webhook's next attempt, minutes or hours away) has nothing to do
        now while they are hidden."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        if self.work.sets_own_visibility:
            names = names[:1]
        counts = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        with self._lock:
            busy = self._busy
        return busy == 0 and all(int(counts.get(name, 0)) == 0 for name in names)

    def _work(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                received = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=self.work.batch_size, WaitTimeSeconds=0,
                    AttributeNames=["All"],
                ).get("Messages", [])  # fmt: skip
            except Exception:
                logger.exception("receiving from %s failed", self.work.name)
                return
            if received:
                with self._lock:
                    self._busy += 1
                try:
                    self._handle(received)
                finally:
                    with self._lock:
                        self._busy -= 1
            elif self.empty():  # nothing visible, nothing in another worker's hands
                return
            else:
                time.sleep(POLL_S)

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [_record(message, self.url) for message in messages]}
        try:
            response = self.lambdas.run(self.work.function, event) or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            with self._lock:
                self.done.update(response.get("done") or {})
            kept = failed if self.work.sets_own_visibility else set()  # hidden by the function until then
        except Exception as error:  # the whole batch failed: every message comes back
            logger.warning("%s: batch failed: %r", self.work.function, error)
            failed, kept = {message["MessageId"] for message in messages}, set()
        for message in messages:
            if message["MessageId"] in kept:
                continue
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_VISIBILITY_S
                )
            else:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


class InBackground:
    """A queue read all the time, as Lambda's event source mapping reads it
    on AWS: a thread drains it, then looks again after BACKGROUND_POLL_S.
    `pause` stops it (the end-to-end tests' runtime, before in-process
    mocks share its moto)."""

    def __init__(self, poller: QueuePoller) -> None:
        self.poller = poller
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> InBackground:
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name=f"queue-{self.poller.work.name}", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look now: a message may have been sent (a function ended)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:  # a render under way ends first (the function's timeout at most)
            self._thread.join(timeout=self.poller.work.visibility_timeout_s)

    def drain(self, timeout_s: float) -> bool:
        """Wait until the queue is empty, nothing in flight; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while not self.poller.empty():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            # as many batches at once as the event source takes on AWS (its maximum concurrency)
            pollers = min(self.poller.work.max_concurrency or 1, POLLERS)
            self.poller.drain(timeout_s=self.poller.work.visibility_timeout_s, pollers=pollers)
            self._wake.wait(BACKGROUND_POLL_S)
            self._wake.clear()
            self._stop.wait(max(0.0, POLL_S - (time.monotonic() - began)))


def _record(message: dict[str, Any], url: str) -> dict[str, Any]:
    account, name = url.rstrip("/").split("/")[-2:]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:eu-west-3:{account}:{name}",
        "awsRegion": "eu-west-3",
    }
