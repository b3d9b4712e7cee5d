"""The platform operator's commands: what no tenant may do through the API.

    python -m infra.admin standing TENANT       # is its sending suspended, and why
    python -m infra.admin lift-sending TENANT   # lift the suspension (SPEC §15)
    python -m infra.admin stripe-parked         # Stripe's events parked, each with why (StripeEventsParked)
    python -m infra.admin stripe-replay EVENT   # apply one again once its cause is fixed (exit 1: still parked)
    python -m infra.admin reindex TENANT...     # its documents given the keys of the reports' index (SPEC §14)

Deployed: run with the operator's AWS credentials and TABLE_NAME set to the
stack's table. Without TABLE_NAME, the commands talk to a running `make dev`
(its emulation on MOTO_PORT, 4566 by default): `make lift-sending TENANT=acme`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

USAGE = (
    "usage: python -m infra.admin standing|lift-sending TENANT | stripe-parked | stripe-replay EVENT_ID"
    " | reindex TENANT..."
)


def main(argv: Sequence[str]) -> int:
    if len(argv) >= 2 and argv[0] == "reindex":
        return _reindex(argv[1:])
    if list(argv) == ["stripe-parked"] or (len(argv) == 2 and argv[0] == "stripe-replay"):
        return _stripe_events(argv)
    if len(argv) != 2 or argv[0] not in ("standing", "lift-sending"):
        print(USAGE, file=sys.stderr)
        return 2
    command, tenant = argv
    from invoicing.adapters.live import deps
    from invoicing.domain.tenants import is_tenant_name
    from invoicing.logic import limits

    if not is_tenant_name(tenant):
        print(f"not a tenant id: {tenant!r}", file=sys.stderr)
        return 2
    from invoicing.domain.errors import Conflict

    if command == "lift-sending":
        try:
            standing = limits.lift(deps(), tenant)
        except Conflict as refused:
            print(refused.message, file=sys.stderr)
            return 1
    else:
        standing = deps().store.get(tenant, limits.STANDING, limits.SENDING) or {"suspended": False}
    print(json.dumps({"tenant": tenant, **{key: value for key, value in standing.items() if key != "version"}}))
    return 0


def _stripe_events(argv: Sequence[str]) -> int:
    """Stripe's events that could not be applied (logic.stripe_events): listed, one a line; or one replayed."""
    from invoicing.adapters.live import deps
    from invoicing.domain.errors import NotFound
    from invoicing.logic import stripe_events

    if argv[0] == "stripe-parked":
        cursor = None
        while True:
            page = stripe_events.parked(deps(), limit=100, cursor=cursor)
            for event in page.items:
                print(json.dumps({key: value for key, value in event.items() if key != "version"}))
            if not (cursor := page.cursor):
                return 0
    try:
        outcome = stripe_events.replay(deps(), argv[1])
    except NotFound:
        print(f"no parked event {argv[1]!r}", file=sys.stderr)
        return 2
    print(json.dumps({"event_id": argv[1], "outcome": outcome}))
    return 1 if outcome.startswith("still parked") else 0


def _reindex(tenants: Sequence[str]) -> int:
    """Each tenant's documents written back with the keys of today's indexes (logic.reindex), one JSON line each."""
    from invoicing.adapters.live import deps
    from invoicing.domain.tenants import is_tenant_name
    from invoicing.logic.reindex import reindex

    unknown = [tenant for tenant in tenants if not is_tenant_name(tenant)]
    if unknown:
        print(f"not tenant ids: {unknown}", file=sys.stderr)
        return 2
    for tenant in tenants:
        print(json.dumps({"tenant": tenant, "written": reindex(deps(), tenant)}), flush=True)
    return 0


def _local_defaults() -> None:
    """Point at a running `make dev` when no table is named."""
    if os.environ.get("TABLE_NAME"):
        return
    from infra.local.emulation import CREDENTIALS
    from infra.local.resources import TABLE_NAME

    os.environ.update({**CREDENTIALS, "TABLE_NAME": TABLE_NAME,
                       "AWS_ENDPOINT_URL": f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"})  # fmt: skip


if __name__ == "__main__":
    _local_defaults()
    sys.exit(main(sys.argv[1:]))
