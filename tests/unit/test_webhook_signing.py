"""Webhook signatures (SPEC §13) are Standard Webhooks': a receiver checks
ours with that project's own library, including while a secret is being
rotated, and a body changed on the way fails."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from invoicing.domain.webhooks import EVENT_TYPES, PING, USER_AGENT, headers, new_secret, sign

pytestmark = pytest.mark.unit

BODY = json.dumps({"type": "invoice.paid", "data": {"id": "inv_1"}}).encode()


def signed(secrets: list[str], body: bytes = BODY) -> dict[str, str]:
    return headers(secrets, "evt_1", int(time.time()), body)


def test_a_new_secret_is_whsec_and_24_random_bytes():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 24
    assert first != second


def test_given_one_secret_when_the_receiver_verifies_then_it_reads_the_body():
    secret = new_secret()
    assert Webhook(secret).verify(BODY, signed([secret])) == json.loads(BODY)


def test_the_headers_name_the_message_its_time_and_what_it_is():
    secret = new_secret()
    sent = headers([secret], "evt_1", 1_700_000_000, BODY)
    assert sent == {
        "webhook-id": "evt_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign(secret, "evt_1", 1_700_000_000, BODY),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    assert sent["webhook-signature"].startswith("v1,")


def test_our_signature_is_the_libraries_own():
    secret = new_secret()
    at = datetime.fromtimestamp(1_700_000_000, UTC)
    assert sign(secret, "evt_1", 1_700_000_000, BODY) == Webhook(secret).sign("evt_1", at, BODY)


def test_given_a_rotated_endpoint_then_either_secret_alone_verifies():
    old, new = new_secret(), new_secret()
    sent = signed([old, new])
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, sent) == json.loads(BODY)
    assert Webhook(new).verify(BODY, sent) == json.loads(BODY)


def test_given_another_secret_then_verification_fails():
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, signed([new_secret(), new_secret()]))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, sent: (body.replace(b"inv_1", b"inv_2"), sent), id="body"),
        pytest.param(lambda body, sent: (body, {**sent, "webhook-id": "evt_2"}), id="id"),
        pytest.param(
            lambda body, sent: (body, {**sent, "webhook-timestamp": str(int(sent["webhook-timestamp"]) + 1)}),
            id="timestamp",
        ),
    ],
)
def test_given_a_message_changed_on_the_way_then_verification_fails(tamper):
    secret = new_secret()
    body, sent = tamper(BODY, signed([secret]))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, sent)


def test_a_body_that_is_not_utf8_is_signed_byte_for_byte():
    secret = new_secret()
    body = b'{"name": "\xff"}'
    Webhook(secret).verify(body, signed([secret], body), json_parse=False)


@pytest.mark.parametrize("secret", ["", "whsec_", "sk_live_abc", "whsec_not base64!"])
def test_a_secret_that_is_not_one_of_ours_is_refused(secret):
    with pytest.raises(ValueError):
        sign(secret, "evt_1", 1, BODY)


def test_a_message_needs_a_secret():
    with pytest.raises(ValueError):
        headers([], "evt_1", 1, BODY)


def test_the_catalogue_is_spec_13s_and_the_ping_is_not_in_it():
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 23
    assert PING not in EVENT_TYPES
    assert all(kind.count(".") == 1 for kind in EVENT_TYPES)
