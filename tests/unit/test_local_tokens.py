"""The local gateway's tokens (SPEC §3, issue 19 §6): HS256 with the local
secret, a subject, a tenant, and an expiry — a token without `exp` would
open the API for ever to whoever once held it."""

from __future__ import annotations

import time

import jwt
import pytest

from infra.local.gateway import jwt_secret, verify
from infra.local.runtime import mint_token

pytestmark = pytest.mark.unit


def bearer(claims: dict) -> str:
    return "Bearer " + jwt.encode(claims, jwt_secret(), algorithm="HS256")


def test_a_token_without_an_expiry_is_refused():
    now = int(time.time())

    assert verify(bearer({"sub": "user-1", "custom:tenant_id": "acme", "iat": now})) is None


def test_an_expired_token_is_refused_and_one_in_date_is_taken():
    now = int(time.time())
    claims = {"sub": "user-1", "custom:tenant_id": "acme", "iat": now}

    assert verify(bearer({**claims, "exp": now - 60})) is None
    assert verify(bearer({**claims, "exp": now + 600}))["custom:tenant_id"] == "acme"


def test_make_token_mints_one_that_expires_within_a_day_and_is_taken():
    token = mint_token("acme")

    claims = jwt.decode(token, jwt_secret(), algorithms=["HS256"])
    assert 0 < claims["exp"] - time.time() <= 24 * 3600
    assert verify(f"Bearer {token}")["custom:tenant_id"] == "acme"
