"""Fixtures of the end-to-end tests. The local runtime is shared by all of
them, so each test works in a tenant of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import BUSINESS, CUSTOMER, HttpApi, Verbs


# One runtime for the session. Its moto server runs in this process and
# shares moto's state with the in-process mocks of the integration tests:
# nothing of the runtime works in the background once these tests are done
# (the worker's first in-process moto test pauses its pipe: tests/conftest.py `aws`).
@pytest.fixture(scope="session")
def runtime() -> Iterator[Any]:
    from infra.local.runtime import LocalRuntime
    from tests import piped

    started = LocalRuntime.start()
    piped.runtime = started
    yield started
    piped.runtime = None
    started.stop()


@pytest.fixture(scope="session")
def http(runtime: Any) -> HttpApi:
    return HttpApi(runtime.url)


class TenantClient(Verbs):
    """The session's HTTP client, bound to one tenant."""

    def __init__(self, http: Any, tenant: str) -> None:
        self.http = http
        self.tenant = tenant
        self.base_url: str = http.base_url

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        kw.setdefault("tenant", self.tenant)
        return self.http.call(method, path, body, **kw)


@pytest.fixture
def tenant() -> str:
    return f"t{uuid4().hex[:8]}"


@pytest.fixture
def client(http: Any, tenant: str) -> TenantClient:
    return TenantClient(http, tenant)


@pytest.fixture
def new_client(http: Any) -> Any:
    """Another tenant's client: new_client() gives a fresh tenant."""
    return lambda: TenantClient(http, f"t{uuid4().hex[:8]}")


@pytest.fixture
def ready(client: TenantClient) -> dict[str, Any]:
    """A tenant that can issue invoices: its profile and one customer."""
    assert client.put("/business", BUSINESS).status == 200
    customer = client.post("/customers", CUSTOMER)
    assert customer.status == 201, customer.body
    return {"customer": customer.body}
