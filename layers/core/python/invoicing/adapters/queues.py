"""The sweeps' work queue (SQS): pages to work, and the dead-letter queue
that takes a poison invoice on its own. The queues' URLs reach the
function in SWEEP_QUEUE_URL and SWEEP_DEAD_LETTERS_URL (infra/wiring.py)."""

from __future__ import annotations

import json
from typing import Any

from invoicing.settings import settings


class SqsWork:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(self, message: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=settings().require("sweep_queue_url"), MessageBody=json.dumps(message))

    def poison(self, message: dict[str, Any]) -> None:
        self.client.send_message(
            QueueUrl=settings().require("sweep_dead_letters_url"),
            MessageBody=json.dumps(message),
        )
