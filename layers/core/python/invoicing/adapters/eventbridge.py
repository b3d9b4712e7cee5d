"""The event bus adapter (EventBridge PutEvents)."""

from __future__ import annotations

import json
from typing import Any

from invoicing.events import SOURCE
from invoicing.settings import settings


class PublishFailed(Exception):
    """EventBridge refused the entry (its error code and message)."""


class EventBridgeEvents:
    def __init__(self, client: Any = None, bus: str | None = None) -> None:
        self._client = client
        self._bus = bus

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Publishing happens inside an API request whose write has committed:
            # a slow bus must not hold it past API Gateway's 29 s.
            config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 3, "mode": "standard"})
            self._client = boto3.client("events", config=config)
        return self._client

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":")),
            "EventBusName": self._bus or settings().require("event_bus"),
        }
        reply = self.client.put_events(Entries=[entry])
        if reply.get("FailedEntryCount"):
            failed = reply["Entries"][0]
            raise PublishFailed(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
