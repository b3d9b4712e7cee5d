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
    app = getattr(importlib.import_module(function.module), "app", None)
    if app is None:  # a function of the bus only
        return set()
    return {(route.method, route.openapi_path) for route in app._static_routes + app._dynamic_routes}


@pytest.mark.parametrize("function", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_function_serves_exactly_the_routes_wired_to_it(function):
    """Each loads its own routes only (the OpenAPI document loads them all, on its request)."""
    wired = {(route.method, route.path) for route in wiring.routes_of(function.name)}
    assert served(function) == wired


def test_routes_are_declared_once():
    keys = [(route.method, route.path) for route in wiring.ROUTES]
    assert len(keys) == len(set(keys))


def test_only_the_openapi_document_stripes_signed_webhook_and_the_tokened_pages_are_public():
    assert {route.path for route in wiring.ROUTES if route.public} == {
        "/openapi.json",
        "/webhooks/stripe",
        "/pay/{token}",
        "/pay/{token}/pdf",
        "/pay/{token}/attachments/{attachment_id}",
        "/pay/{token}/checkout",
        "/quote/{token}",
        "/quote/{token}/pdf",
        "/quote/{token}/accept",
        "/quote/{token}/decline",
    }


def test_gateway_matches_path_parameters():
    route, params = find_route("POST", "/invoices/inv_1/mark-sent")
    assert (route.path, params) == ("/invoices/{invoice_id}/mark-sent", {"invoice_id": "inv_1"})
    assert find_route("GET", "/invoices/inv_1/unknown") is None
    assert find_route("PUT", "/invoices/inv_1") is None


def test_bus_names_match_the_shared_package():
    from invoicing import events, settings

    assert wiring.EVENT_SOURCE == events.SOURCE
    assert wiring.DOCUMENTS_BUCKET_ENV == settings.DOCUMENTS_BUCKET_ENV
    assert wiring.STRIPE_SECRET_ENV == settings.STRIPE_SECRET_ENV


def test_every_rule_listens_to_published_events_and_targets_a_function():
    from invoicing import events

    for rule in wiring.EVENT_RULES:
        if rule.source == wiring.EVENT_SOURCE:  # the stream's events, on the invoicing bus
            assert set(rule.detail_types) <= set(events.DETAIL_TYPES), rule.name
            assert not rule.default_bus, rule.name
        else:  # an AWS service's, which it puts on the account's default bus
            assert rule.source.startswith("aws."), rule.name
            assert rule.default_bus, rule.name
        assert wiring.function(rule.function)  # raises KeyError if unknown
    names = [rule.name for rule in wiring.EVENT_RULES]
    assert len(names) == len(set(names))


def test_an_event_reaches_the_rules_that_name_its_detail_type():
    assert [rule.function for rule in wiring.rules_for("Invoice Finalized")] == ["documents"]
    assert wiring.rules_for("Invoice Finalized", source="someone.else") == []
    assert [rule.function for rule in wiring.rules_for("Email Bounced", source="aws.ses")] == ["delivery"]
    assert wiring.rules_for("Email Bounced") == []  # not from SES: nobody's
    assert wiring.rules_for("Unknown Happened") == []


@pytest.mark.parametrize("rule", wiring.EVENT_RULES, ids=lambda rule: rule.name)
def test_every_rule_target_handles_bus_events(rule):
    """The target's handler takes an EventBridge event apart from API Gateway ones."""
    handler = importlib.import_module(wiring.function(rule.function).module)
    assert callable(getattr(handler, "on_bus_event", None))


def test_the_functions_that_call_stripe_have_its_library_and_its_key():
    # saved cards and their setup links; the hosted page's Checkout; a saved method's details
    # (invoicing.adapters.stripe_api)
    callers = {"api", "pay", "webhooks", "sweeps"}  # and the recurring sweep's automatic charges
    for name in callers:
        fn = wiring.function(name)
        assert "stripe" in fn.layers, name
        assert fn.reads_stripe_secret, name
    assert {fn.name for fn in wiring.FUNCTIONS if "stripe" in fn.layers} == callers  # 31 MB nowhere else


def test_each_sweep_has_its_index_and_one_daily_rule_of_the_sweeps_function():
    """The adapter keys a sweep's candidates in gsi{4 + n} and queries
    `by_{sweep}_date` (invoicing.adapters.dynamodb): a sweep without its
    index, or without its rule, would find nothing or never run."""
    from invoicing.logic import sweeps
    from invoicing.ports import SWEEPS

    indexes = {index.name: index for index in wiring.TABLE.indexes}
    for number, sweep in enumerate(SWEEPS, start=4):
        assert indexes.get(f"by_{sweep}_date") == wiring.Index(f"by_{sweep}_date", f"gsi{number}pk", f"gsi{number}sk")
    scheduled = sorted(schedule.input["sweep"] for schedule in wiring.SCHEDULES if schedule.function == "sweeps")
    assert scheduled == sorted(SWEEPS) == sorted(sweeps.WORK)
