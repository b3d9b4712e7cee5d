"""Work queues (SQS): the sweeps' pages, with the dead-letter queue that
takes a poison invoice on its own, and the PDFs queued for rendering. Each
queue's URL reaches its consumer and producers in the variable the wiring
names (infra/wiring.py QUEUES)."""

from __future__ import annotations

import json
from typing import Any

from invoicing.settings import settings


class SqsQueue:
    """The queue whose URL is the setting `url`; `dead_letters` names the
    setting of its dead-letter queue, for a consumer that sends there."""

    def __init__(self, url: str, dead_letters: str | None = None, client: Any = None) -> None:
        self._url, self._dead_letters, self._client = url, dead_letters, client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(self, message: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=settings().require(self._url), MessageBody=json.dumps(message))

    def poison(self, message: dict[str, Any]) -> None:
        assert self._dead_letters, "only the sweeps send to their dead-letter queue"
        self.client.send_message(QueueUrl=settings().require(self._dead_letters), MessageBody=json.dumps(message))


class SqsDeliveries:
    """The webhook deliveries' queue: messages sent ten at a time, and a
    received one hidden until its next attempt (the consumer then reports it
    failed, so that the event source keeps it)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send_all(self, messages: list[dict[str, Any]]) -> None:
        url = settings().require("webhook_queue_url")
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            entries = [{"Id": str(n), "MessageBody": json.dumps(message)} for n, message in enumerate(batch)]
            failed = self.client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
            if failed:  # the event is handed over again (the bus retries), its deliveries queued again
                raise RuntimeError(f"SQS refused {len(failed)} webhook deliveries: {failed[0].get('Message')}")

    def postpone(self, receipt: str, seconds: int) -> None:
        url = settings().require("webhook_queue_url")
        self.client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=seconds)
