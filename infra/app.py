"""The CDK app: `cdk synth` runs it through cdk.json; `python infra/app.py
[-c key=value ...]` writes ./cdk.out (`make synth`), with the context of
cdk.json and the `-c` pairs given, as the CLI would."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, Python puts infra/ first on sys.path, where infra/constructs
# would shadow the `constructs` library: import from the repository root instead.
if sys.path and Path(sys.path[0]).resolve() == REPO_ROOT / "infra":
    sys.path[0] = str(REPO_ROOT)
elif str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aws_cdk import App, Environment, cx_api  # noqa: E402

from infra.stack import ContextError, InvoicingStack  # noqa: E402

STACK_NAME = "Invoicing"


def project_context() -> dict[str, Any]:
    """The `context` of cdk.json (feature flags, frontend_origins...).

    The CDK CLI passes it to the app itself; a direct run and the tests read
    it here so that they synthesize the same template as `cdk deploy`.
    """
    cdk_json = REPO_ROOT / "cdk.json"
    if not cdk_json.exists():
        return {}
    return json.loads(cdk_json.read_text()).get("context", {})


def build(app: App) -> InvoicingStack:
    return InvoicingStack(
        app,
        STACK_NAME,
        description="Serverless invoicing for the CRM: API, functions, table, documents bucket, alarms",
        # Environment-agnostic unless the CLI knows the target account/region.
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )


def report(assembly: cx_api.CloudAssembly) -> int:
    """Print synthesis warnings and errors (cdk-nag's among them) as the CLI would; 1 if any error."""
    errors = 0
    for stack in assembly.stacks:
        for message in stack.messages:
            if message.level in (cx_api.SynthesisMessageLevel.ERROR, cx_api.SynthesisMessageLevel.WARNING):
                print(f"[{message.level.value}] {message.id}: {message.entry.data}", file=sys.stderr)
                errors += message.level == cx_api.SynthesisMessageLevel.ERROR
    return 1 if errors else 0


def command_line_context(args: list[str]) -> dict[str, str]:
    """`-c key=value` (or `--context key=value`) pairs, as the CDK CLI takes them."""
    context: dict[str, str] = {}
    pairs = iter(args)
    for arg in pairs:
        if arg not in ("-c", "--context"):
            raise SystemExit(f"usage: python infra/app.py [-c key=value ...], not {arg!r}")
        key, equals, value = next(pairs, "").partition("=")
        if not (key and equals):
            raise SystemExit(f"{arg} takes key=value")
        context[key] = value
    return context


def main(args: list[str] | None = None) -> int:
    try:
        if "CDK_OUTDIR" in os.environ:  # run by the CDK CLI, which passes outdir and context and reports
            app = App()
            build(app)
            app.synth()
            return 0
        context = {**project_context(), **command_line_context(sys.argv[1:] if args is None else args)}
        app = App(outdir=str(REPO_ROOT / "cdk.out"), context=context)
        build(app)
        return report(app.synth())
    except ContextError as error:  # the deployment's context, not the code: no traceback
        print(f"[error] {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
