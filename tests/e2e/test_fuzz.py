"""API fuzzing (issue 8): Schemathesis reads `/openapi.json` on the local
runtime and sends every operation generated requests, authenticated as a
tenant of its own: no 5xx, every response of a status and a shape the
document declares. Bounded here (FUZZ_EXAMPLES an operation, derandomized,
so `make test` stays short and repeatable); `make fuzz` runs it longer.

Each operation runs under Hypothesis directly (its strategy from the
schema): Schemathesis's own pytest plugin reaches into pytest internals
that pytest 9 no longer has."""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# What a response must be whatever the request: never a 5xx, a status the document declares for the
# operation, of the content type and the schema it declares. (A request the schema allows may still be
# refused, naming the field: the schema cannot say a SIREN's check digit or an e-mail's domain.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]


def test_every_operation_answers_as_documented_and_never_5xx(runtime: Any) -> None:
    from infra.local.runtime import mint_token

    headers = {"Authorization": f"Bearer {mint_token(f'fuzz{uuid4().hex[:8]}')}"}
    schema = schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: dict[str, str] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as error:  # one operation's failure does not hide the others'
            failures[operation.label] = str(error)[:600]

    from infra import wiring

    documented = {(operation.method.upper(), operation.path) for operation in operations}
    assert documented == {(route.method, route.path) for route in wiring.ROUTES if route.path != "/openapi.json"}
    assert failures == {}, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
