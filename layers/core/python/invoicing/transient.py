"""What an AWS service answers when it is busy, once botocore's own retries
are spent: the call was refused, did nothing, and the same call later will
do it. Read by name, so that who asks (the HTTP edge, the sweeps) needs not
load botocore.

Not here: a call whose answer was lost (a read timeout, a closed
connection) or a service's own failure (a 5xx): it may have been done, so
nobody may say it was not."""

from __future__ import annotations

TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
     "TooManyRequestsException", "SlowDown", "TransactionInProgressException"}
)  # fmt: skip
CONNECTION_ERRORS = frozenset({"EndpointConnectionError", "ConnectTimeoutError"})  # nothing was sent


def code_of(error: BaseException) -> str:
    """The error code of a botocore ClientError, "" for anything else."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def is_transient(error: BaseException) -> bool:
    """A throttled or unavailable AWS call, or a connection that failed."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & CONNECTION_ERRORS) or ("ClientError" in names and code_of(error) in TRANSIENT_CODES)
