"""Domain errors. Each is a type; the API maps them to HTTP once."""

from __future__ import annotations

from typing import NamedTuple


class FieldError(NamedTuple):
    field: str  # dotted path in the request body: lines.3.discount.value
    message: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is well-formed but breaks a business rule (422)."""

    code = "invalid_input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def of(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])


class KeyReused(InvalidInput):
    """An Idempotency-Key sent again with another request (422)."""

    code = "idempotency_key_reused"
    MESSAGE = "this Idempotency-Key was used with a different body; use a new key"

    def __init__(self) -> None:
        super().__init__([FieldError("Idempotency-Key", self.MESSAGE)])


class NotFound(DomainError):
    """Unknown, or another tenant's: the two are indistinguishable (404)."""

    code = "not_found"

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")


class Conflict(DomainError):
    """The request conflicts with the current state (409)."""

    code = "conflict"


class NameTaken(Conflict):
    code = "name_taken"

    def __init__(self, kind: str, name: str) -> None:
        article = "an" if kind[:1] in "aeiou" else "a"
        super().__init__(f"{article} {kind} named {name!r} already exists")
        self.field = "name"


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, current: int) -> None:
        super().__init__(f"the object changed since version you sent; current version is {current}")
        self.current = current


class InvoiceNotEditable(Conflict):
    code = "invoice_not_editable"

    def __init__(self, status: str, document: str = "invoice") -> None:
        super().__init__(f"only draft {document}s can be changed or deleted; this one is {status}")
        self.code = f"{document}_not_editable"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, action: str, status: str, document: str = "invoice") -> None:
        article = "an" if document[:1] in "aeiou" else "a"
        super().__init__(f"cannot {action} {article} {document} that is {status}")


class TooLarge(DomainError):
    """A body, a document or a file over a size limit (413)."""

    code = "too_large"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnsupportedType(DomainError):
    """A file of a type the system does not take, or not of the type it
    claims to be (415)."""

    code = "unsupported_type"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class TooSoon(DomainError):
    """The same request came again before it may (429): wait and retry."""

    code = "too_soon"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Forbidden(DomainError):
    """The tenant may not do this now, whatever it sends (403): sending
    suspended by the platform, say."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Busy(DomainError):
    """Too much contention, or a service too busy, to finish now; nothing
    was written (503, with Retry-After: retry then)."""

    code = "busy"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PaymentsNotConfigured(Busy):
    """The platform's Stripe secret is not filled in yet — missing, not
    JSON, or with the empty values the stack creates it with: no payment
    can be taken nor recorded until the operator fills it (503, with
    Retry-After; Stripe retries an event for three days)."""

    code = "payments_not_configured"


class RenderFailed(DomainError):
    """A document's PDF could not be rendered, and is not tried again
    before `retry_after_s` (503, with Retry-After): one failing document
    does not start a render at every request."""

    code = "pdf_render_failed"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PaymentDeclined(DomainError):
    """A card was refused (402): `code` says why as Stripe does —
    card_declined, authentication_required (the client must pay on the
    hosted page, where the bank can ask), expired_card… Nothing was recorded."""

    def __init__(self, code: str, message: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code


class ProviderRefused(DomainError):
    """A payment provider refused a request for a reason that is not the
    client's input (the platform's key, the business's account): 502."""

    code = "provider_refused"
