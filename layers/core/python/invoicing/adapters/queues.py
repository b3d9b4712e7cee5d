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
