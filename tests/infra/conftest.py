"""The stack is synthesized once per session: synthesis takes seconds."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Template

from infra.app import build, project_context
from infra.constructs.functions import LAYER_DIRS, is_built
from infra.stack import InvoicingStack

# What a real deployment must give (infra.stack.REQUIRED_CONTEXT): the tests
# check the template the platform deploys, not the dev profile's.
DEPLOY_CONTEXT = {
    "platform_sender": "factures@facturation.example",
    "frontend_origins": "https://app.facturation.example",
    "alarm_email": "astreinte@facturation.example",
}
SYNTH_CONTEXT = {
    # Point assets at their folders instead of copying them, and record those
    # folders in the template, so tests can tell which code each asset is.
    "aws:cdk:disable-asset-staging": True,
    "aws:cdk:enable-asset-metadata": True,
}


@pytest.fixture(scope="session")
def stack() -> InvoicingStack:
    # Synthesis only needs the built layers' folders to exist; `make build`
    # fills them. An empty placeholder where one is absent, never touching a build.
    for folder in LAYER_DIRS.values():
        if is_built(folder) and not (folder / "python").is_dir():
            (folder / "python").mkdir(parents=True)
    return build(App(context={**project_context(), **DEPLOY_CONTEXT, **SYNTH_CONTEXT}))


@pytest.fixture(scope="session")
def template(stack: InvoicingStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def cfn(template: Template) -> dict[str, Any]:
    """The synthesized template as plain JSON."""
    return template.to_json()


@pytest.fixture(scope="session")
def annotations(stack: InvoicingStack) -> Annotations:
    return Annotations.from_stack(stack)
