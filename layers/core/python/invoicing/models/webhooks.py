"""Wire models of outgoing webhooks' endpoints (SPEC §13): where a tenant's
events go, which of them, and the endpoint turned off or on again."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from invoicing.domain.webhooks import EVENT_TYPES
from invoicing.models.common import Input, Text

MAX_URL = 2048
EVERY_EVENT = "*"


class WebhookEndpointIn(Input):
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL)] = Field(
        description="https, on a public address (checked now and at each delivery, after resolving its name)",
        examples=["https://crm.example.com/hooks/invoicing"],
    )
    events: list[str] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES),
        description='the event types sent there, or ["*"] for all of them (those added later too)',
        examples=[["invoice.paid", "invoice.partially_paid"]],
    )
    description: Annotated[Text, Field(max_length=500)] | None = None

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return known_events(value)


class WebhookEndpointPatch(Input):
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL)] | None = None
    events: list[str] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: Annotated[Text, Field(max_length=500)] | None = None
    status: Literal["enabled", "disabled"] | None = Field(
        default=None, description="enabled again, its failures forgotten; or disabled: nothing is sent to it"
    )

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else known_events(value)


def known_events(value: list[str]) -> list[str]:
    """One error naming `events`, whatever the entry at fault."""
    if value == [EVERY_EVENT]:
        return value
    unknown = [item for item in value if item not in EVENT_TYPES]
    if unknown:
        raise ValueError(f'unknown event types: {", ".join(unknown)[:200]} (see the catalogue, or ["*"])')
    if len(set(value)) != len(value):
        raise ValueError("each event type once")
    return value
