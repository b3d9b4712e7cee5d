"""X-Ray tracing for every function (Powertools Tracer).

Lambda's active tracing records each invocation; the tracer adds a
subsegment for the handler (with the cold start as an annotation) and one
for every AWS call, so a slow request shows where its time went. Responses
are not recorded: they hold customers' names and addresses.

Only botocore is patched, and only once boto3 is loaded (by an adapter,
for the function's first AWS client): the X-Ray SDK's patch imports
`botocore.client` at once, and most handlers load no botocore at all
until they need it (147 ms more on the api function's cold start,
measured). Patching every library the SDK knows would import httpx and
requests too.

What remains, the SDK itself, measured in Lambda's mode (LAMBDA_TASK_ROOT
set, where it samples locally instead of building two X-Ray clients):
about 28 ms per cold start (gc off). Outside Lambda (tests, the local runtime)
POWERTOOLS_TRACE_DISABLED makes it all no-ops."""

from types import ModuleType

import wrapt
from aws_lambda_powertools import Tracer

tracer = Tracer(auto_patch=False)


def _trace_aws_calls(_boto3: ModuleType) -> None:
    tracer.patch(("botocore",))


# After boto3 rather than botocore.client: a hook on a submodule runs before
# its package holds it as an attribute, which the SDK's patch reads.
wrapt.register_post_import_hook(_trace_aws_calls, "boto3")
