"""What can name a tenant: the one rule the token's claim and a Stripe
event's metadata are both held to."""

from __future__ import annotations

import re
from typing import TypeGuard

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Names that are not tenants: the bucket's other top-level folders (a tenant
# of that name would share their prefix and lifecycle rules) and the table's
# partition of what belongs to no tenant (logic.sender's address owners,
# logic.stripe_events' records).
RESERVED = frozenset({"pending", "attachments", "renders", "logos", "platform", "exports"})


def is_tenant_name(value: object) -> TypeGuard[str]:
    """1 to 64 letters, digits, - or _, and none of the reserved names (in any case)."""
    return isinstance(value, str) and _NAME.match(value) is not None and value.lower() not in RESERVED
