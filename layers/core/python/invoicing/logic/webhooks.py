"""Outgoing webhooks' endpoints (SPEC §13): where a tenant's events go.

An endpoint keeps its signing secrets (`whsec_…`, shown once: when it is
made and when it is rotated; a rotated one keeps signing beside the new for
24 hours, so a CRM can switch without losing an event), the event types it
takes, and its health: `failing_since` (the first failure since its last
success) and, after three days of nothing but failures, `disabled` until the
business turns it on again. A tenant's endpoints (ten at most) live in one
document, written under the version read: two creations at once cannot make
an eleventh, and each event's fan-out reads them in one get.

Its URL is https on a public address: checked here, when it is given, and
again at each delivery after resolving its name (adapters.webhook_http), so
that a name later pointed at a private address is refused then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from invoicing.domain import webhooks
from invoicing.domain.errors import FieldError, InvalidInput, NotFound, StaleVersion
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.models.common import sent
from invoicing.models.webhooks import WebhookEndpointIn, WebhookEndpointPatch
from invoicing.ports import ConditionFailed, Doc, WebhookSender
from invoicing.settings import settings

KIND = "webhook_endpoints"  # one document a tenant: {"id": REGISTRY, "endpoints": [...], "version"}
REGISTRY = "endpoints"
DELIVERY = "webhook_delivery"
MAX_ENDPOINTS = 10
SECRET_OVERLAP = timedelta(hours=24)  # a rotated secret keeps signing beside the new one
MAX_SECRETS = 4  # signing at once: the current one and up to three rotated within the last day
INTERNAL = frozenset({"secrets"})


def present(doc: Doc) -> Doc:
    """An endpoint as the API shows it: never its secrets."""
    return {key: value for key, value in doc.items() if key not in INTERNAL}


def create(deps: Deps, tenant: str, body: WebhookEndpointIn) -> Doc:
    """The new endpoint, with its secret (the only time it is shown)."""
    url = checked_url(_sender(deps), body.url)
    secret, now = webhooks.new_secret(), deps.timestamp()
    doc: Doc = {
        "id": deps.new_id("whe"),
        "url": url,
        "events": body.events,
        "description": body.description,
        "status": "enabled",
        "secrets": [{"secret": secret, "expires_at": None}],
        "failing_since": None,
        "disabled_at": None,
        "disabled_reason": None,
        "secret_rotated_at": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }

    def attempt() -> None:
        registry = _registry(deps, tenant)
        if len(registry["endpoints"]) >= MAX_ENDPOINTS:
            raise InvalidInput([FieldError("url", f"at most {MAX_ENDPOINTS} webhook endpoints: delete one first")])
        _save(deps, tenant, registry, [*registry["endpoints"], doc])

    until_written(attempt, "webhook endpoints too busy to add one now")
    return {**present(doc), "secret": secret}


def get(deps: Deps, tenant: str, endpoint_id: str) -> Doc:
    return present(load(deps, tenant, endpoint_id))


def list_endpoints(deps: Deps, tenant: str) -> list[Doc]:
    return [present(doc) for doc in endpoints(deps, tenant)]


def endpoints(deps: Deps, tenant: str) -> list[Doc]:
    """Every endpoint of the tenant, oldest first (ten at most): one read."""
    return list(_registry(deps, tenant)["endpoints"])


def update(deps: Deps, tenant: str, endpoint_id: str, body: WebhookEndpointPatch) -> Doc:
    """Its URL, events or description changed; `status: enabled` turns on
    again an endpoint disabled after its failures (they are forgotten)."""
    changes: dict[str, Any] = sent(body)
    if changes.get("url") is not None:
        changes["url"] = checked_url(_sender(deps), changes["url"])
    for field in ("url", "events", "status"):  # null means nothing for these
        if changes.get(field, "") is None:
            del changes[field]

    def attempt() -> Doc:
        doc = load(deps, tenant, endpoint_id)
        new = {**doc, **changes, "updated_at": deps.timestamp(), "version": doc["version"] + 1}
        if changes.get("status") == "enabled" and doc["status"] != "enabled":
            new.update(failing_since=None, disabled_at=None, disabled_reason=None)
        elif changes.get("status") == "disabled" and doc["status"] != "disabled":
            new.update(disabled_at=new["updated_at"], disabled_reason="disabled by the business")
        write(deps, tenant, doc, new)
        return new

    return present(until_written(attempt, f"webhook endpoint {endpoint_id} too busy to change now"))


def rotate_secret(deps: Deps, tenant: str, endpoint_id: str) -> Doc:
    """A new secret, shown this once; the one it replaces signs beside it
    for 24 hours. One rotated earlier keeps its own 24 hours: a rotation
    asked twice (a retry without its Idempotency-Key) never stops the
    secret the CRM still holds."""
    secret = webhooks.new_secret()

    def attempt() -> Doc:
        doc = load(deps, tenant, endpoint_id)
        now = deps.now()
        until = _iso(now + SECRET_OVERLAP)
        signing = [item for item in doc["secrets"] if item["secret"] in signing_secrets(doc, now)]
        kept = [{**item, "expires_at": item["expires_at"] or until} for item in signing][: MAX_SECRETS - 1]
        stamp = deps.timestamp()
        new = {**doc, "secrets": [{"secret": secret, "expires_at": None}, *kept],
               "secret_rotated_at": stamp, "updated_at": stamp, "version": doc["version"] + 1}  # fmt: skip
        write(deps, tenant, doc, new)
        return new

    doc = until_written(attempt, f"webhook endpoint {endpoint_id} too busy to rotate its secret now")
    return {**present(doc), "secret": secret}


def delete(deps: Deps, tenant: str, endpoint_id: str) -> None:
    """Gone, with nothing more sent to it; its deliveries' records expire."""

    def attempt() -> None:
        registry = _registry(deps, tenant)
        kept = [doc for doc in registry["endpoints"] if doc["id"] != endpoint_id]
        if len(kept) == len(registry["endpoints"]):
            raise NotFound("webhook endpoint")
        _save(deps, tenant, registry, kept)

    until_written(attempt, f"webhook endpoint {endpoint_id} too busy to delete now")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def signing_secrets(endpoint: Doc, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and those rotated for
    their last 24 hours."""
    at = _iso(now)
    return [item["secret"] for item in endpoint["secrets"] if not item["expires_at"] or item["expires_at"] > at]


def checked_url(sender: WebhookSender, url: str) -> str:
    """`url` if it may be called: https (http on loopback only where the
    local runtime allows loopback), a name resolving to public addresses
    only. A 422 naming `url` else."""
    allow = settings().webhooks_allow_loopback
    problem = webhooks.url_problem(url, allow_loopback=allow)
    if problem is not None:
        raise InvalidInput.of("url", problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = sender.addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise InvalidInput.of("url", f"{host} does not resolve")
    for address in addresses:
        refused = webhooks.address_problem(address, allow_loopback=allow)
        if refused is not None:
            # not the address itself: a name only a private resolver knows tells nothing more
            raise InvalidInput.of("url", f"{host} resolves to {refused}")
    return url


def load(deps: Deps, tenant: str, endpoint_id: str) -> Doc:
    found = find(deps, tenant, endpoint_id)
    if found is None:
        raise NotFound("webhook endpoint")
    return found


def find(deps: Deps, tenant: str, endpoint_id: str) -> Doc | None:
    return next((doc for doc in endpoints(deps, tenant) if doc["id"] == endpoint_id), None)


def write(deps: Deps, tenant: str, old: Doc, new: Doc) -> None:
    """`new` in place of `old`, if nothing changed it meanwhile (LostRace)."""
    registry = _registry(deps, tenant)
    current = next((doc for doc in registry["endpoints"] if doc["id"] == old["id"]), None)
    if current is None:
        raise NotFound("webhook endpoint")
    if current["version"] != old["version"]:
        raise LostRace
    _save(deps, tenant, registry, [new if doc["id"] == old["id"] else doc for doc in registry["endpoints"]])


def _registry(deps: Deps, tenant: str) -> Doc:
    found = deps.store.get(tenant, KIND, REGISTRY)
    return found if found is not None else {"id": REGISTRY, "endpoints": [], "version": 0}


def _save(deps: Deps, tenant: str, registry: Doc, endpoints: list[Doc]) -> None:
    """The tenant's endpoints written under the version read (LostRace)."""
    new = {**registry, "endpoints": endpoints, "version": registry["version"] + 1}
    try:
        deps.store.replace(tenant, KIND, new, expected_version=registry["version"], old_name=None, new_name=None)
    except (StaleVersion, ConditionFailed):
        raise LostRace from None


def _sender(deps: Deps) -> WebhookSender:
    assert deps.webhooks is not None, "only the hooks function calls endpoints"
    return deps.webhooks
