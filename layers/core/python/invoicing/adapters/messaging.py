"""The messenger adapter: e-mail through SES (v2, raw MIME, so the PDF is
attached) and SMS through SNS. Provider errors become the two the use case
tells apart: try later (throttling) or never (a rejection)."""

from __future__ import annotations

from typing import Any

from invoicing.ports import FEEDBACK_TAG, SendRejected, SendThrottled
from invoicing.settings import settings

_THROTTLING = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "LimitExceededException",
}
# The account, not the message, is at fault: every delivery would fail now and
# may succeed later, so they are retried (and alarm through the dead-letter queue).
_ACCOUNT_WIDE = {"AccountSuspendedException", "SendingPausedException", "KMSThrottlingException"}
# Refused because of the platform's set-up, not the message: no delivery can
# succeed until an operator acts (verifies the sender, leaves the SES sandbox,
# creates the configuration set, grants the permission).
_SET_UP = {
    "MailFromDomainNotVerifiedException",
    "ConfigurationSetDoesNotExistException",
    "AccessDeniedException",
    "AccessDenied",
    "AuthorizationError",
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

    def send_email(self, sender: str, recipient: str, mime: bytes, *, tenant: str | None = None) -> str:
        client = self._client("sesv2")
        extra: dict[str, Any] = {}
        if tenant:  # SES's events about the message (bounces, complaints) carry its tags
            extra["EmailTags"] = [{"Name": FEEDBACK_TAG, "Value": tenant}]
        configuration_set = settings().ses_configuration_set
        if configuration_set:  # deployed: the set whose event destination is EventBridge
            extra["ConfigurationSetName"] = configuration_set
        try:
            reply = client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [recipient]},
                Content={"Raw": {"Data": mime}},
                **extra,
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

    def register_sender(self, address: str) -> None:
        """SES e-mails the owner a link, valid 24 hours: asked again for an
        address it knows but never saw verified, the identity is made anew,
        which sends a new link."""
        client = self._client("sesv2")
        try:
            try:
                client.create_email_identity(EmailIdentity=address)
            except client.exceptions.AlreadyExistsException:
                if self.sender_verified(address):
                    return
                client.delete_email_identity(EmailIdentity=address)
                client.create_email_identity(EmailIdentity=address)
        except client.exceptions.ClientError as error:
            raise _classified(error) from None

    def sender_verified(self, address: str) -> bool:
        client = self._client("sesv2")
        for identity in (address, address.rpartition("@")[2]):
            try:
                if client.get_email_identity(EmailIdentity=identity).get("VerifiedForSendingStatus"):
                    return True
            except client.exceptions.NotFoundException:
                continue
        return False


def _classified(error: Any) -> Exception:
    """Throttling: later. Any other 4xx (a rejected message, a bad or opted
    out address, an unverified sender): never, retrying would fail the same
    way. 5xx and the account-wide 4xx: let the invocation fail and retry."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
    if code in _THROTTLING or status == 429:
        return SendThrottled(f"{code}: {message}")
    if 400 <= status < 500 and code not in _ACCOUNT_WIDE:
        unverified = code == "MessageRejected" and "not verified" in message
        return SendRejected(f"{code}: {message}", misconfigured=code in _SET_UP or unverified)
    return error
