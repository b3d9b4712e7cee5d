"""The stack is synthesized once per session: synthesis takes seconds."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Template

from infra.app import build, project_context
from infra.constructs.functions import DEPS_LAYER_DIR
from infra.stack import InvoicingStack

SYNTH_CONTEXT = {
    # Point assets at their folders instead of copying them, and record those
    # folders in the template, so tests can tell which code each asset is.
    "aws:cdk:disable-asset-staging": True,
    "aws:cdk:enable-asset-metadata": True,
}


@pytest.fixture(scope="session")
def stack() -> InvoicingStack:
    # Synthesis only needs the deps layer folder to exist; `make build` fills it.
    (DEPS_LAYER_DIR / "python").mkdir(parents=True, exist_ok=True)
    return build(App(context={**project_context(), **SYNTH_CONTEXT}))


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
