"""The one wiring declaration matches what the handlers serve, so the CDK
app and the local runtime (which both read it) route every request to the
function that answers it."""

from __future__ import annotations

import importlib

import pytest

from infra import wiring
from infra.local.gateway import find_route

pytestmark = pytest.mark.unit


def served(function: wiring.Function) -> set[tuple[str, str]]:
    app = importlib.import_module(function.module).app
    return {(route.method, route.openapi_path) for route in app._static_routes + app._dynamic_routes}


@pytest.mark.parametrize("function", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_every_route_wired_to_a_function_is_served_by_it(function):
    wired = {(route.method, route.path) for route in wiring.routes_of(function.name)}
    assert wired <= served(function)


def test_every_route_a_handler_serves_is_wired():
    wired = {(route.method, route.path) for route in wiring.ROUTES}
    for function in wiring.FUNCTIONS:
        # the API function also carries /totals for the OpenAPI document
        assert served(function) <= wired, function.name


def test_routes_are_declared_once():
    keys = [(route.method, route.path) for route in wiring.ROUTES]
    assert len(keys) == len(set(keys))


def test_only_the_openapi_document_is_public():
    assert {route.path for route in wiring.ROUTES if route.public} == {"/openapi.json"}


def test_gateway_matches_path_parameters():
    route, params = find_route("POST", "/invoices/inv_1/mark-sent")
    assert (route.path, params) == ("/invoices/{invoice_id}/mark-sent", {"invoice_id": "inv_1"})
    assert find_route("GET", "/invoices/inv_1/unknown") is None
    assert find_route("PUT", "/invoices/inv_1") is None
