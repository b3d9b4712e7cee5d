"""`GET /_local/outbox` (SPEC §9.1): what the emulated SES and SNS accepted,
newest last — e-mails with their recipients, subject, text part and
attachments' names and sizes, SMS with their text. moto keeps them in the process that
serves the emulation, which is the local runtime's."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from typing import Any

ACCOUNT = "123456789012"


def outbox(region: str) -> dict[str, Any]:
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    emails = []
    for sent in ses_backends[ACCOUNT][region].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        message = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
        emails.append(
            {
                "id": sent.id,
                "from": str(message["From"]),
                # moto adds the To header's addresses to the API's destinations: once each
                "to": list(dict.fromkeys(str(a) for a in getattr(sent, "destinations", None) or [message["To"]])),
                "subject": str(message["Subject"]),
                "text": _text(message),
                "attachments": [
                    {
                        "filename": part.get_filename(),
                        "content_type": part.get_content_type(),
                        "size": len(part.get_payload(decode=True) or b""),
                    }
                    for part in message.iter_attachments()
                ],  # fmt: skip
            }
        )
    sms = [
        {"id": id, "to": phone, "text": text}
        for id, (phone, text) in sns_backends[ACCOUNT][region].sms_messages.items()
    ]
    return {"emails": emails, "sms": sms}


def _text(message: Any) -> str | None:
    """The plain-text part, where a developer reads a link or a code."""
    part = message.get_body(("plain",))
    return str(part.get_content())[:4000] if part is not None else None


def outbox_route(region: str) -> Any:
    def serve(_body: bytes) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(outbox(region), ensure_ascii=False).encode()

    return serve
