"""The messenger adapter: e-mail through SES (v2, raw MIME, so the PDF is
attached) and SMS through SNS. Provider errors become the two the use case
tells apart: try later (throttling) or never (a rejection)."""

from __future__ import annotations

from typing import Any

from invoicing.store.ports import SendRejected, SendThrottled

# Retrying these cannot succeed: the address, the sender or the message is wrong.
_PERMANENT = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "OptedOutException",
    "AuthorizationError",
}
_THROTTLING = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "LimitExceededException",
}


class AwsMessenger:
    def __init__(self, ses: Any = None, sns: Any = None) -> None:
        self._ses = ses
        self._sns = sns

    def _client(self, name: str) -> Any:
        attribute = f"_{'ses' if name == 'sesv2' else 'sns'}"
        if getattr(self, attribute) is None:
            import boto3
            from botocore.config import Config

            # The use case decides about retries (a throttled delivery is retried by Lambda).
            setattr(self, attribute, boto3.client(name, config=Config(retries={"max_attempts": 2, "mode": "standard"})))
        return getattr(self, attribute)

    def send_email(self, sender: str, recipient: str, mime: bytes) -> str:
        client = self._client("sesv2")
        try:
            reply = client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": mime}},
            )
        except client.exceptions.ClientError as error:
            raise _classified(error) from None
        return str(reply["MessageId"])

    def send_sms(self, phone: str, text: str) -> str:
        client = self._client("sns")
        try:
            reply = client.publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except client.exceptions.ClientError as error:
            raise _classified(error) from None
        return str(reply["MessageId"])


def _classified(error: Any) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code in _THROTTLING:
        return SendThrottled(f"{code}: {message}")
    if code in _PERMANENT:
        return SendRejected(f"{code}: {message}")
    return error  # unknown: let the invocation fail and be retried
