"""Each handler loads its modules with the cyclic collector off and leaves
it on (invoicing.coldstart): a handler that forgot `done()` would run every
invocation without collection, one that forgot `gc.disable()` would pay
collections over everything it loads."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import wiring

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_a_handler_turns_the_collector_off_first_and_on_last(fn):
    body = ast.parse((ROOT / fn.code_dir / "handler.py").read_text(encoding="utf-8")).body
    docstring, *statements = body
    assert isinstance(docstring, ast.Expr)
    assert isinstance(docstring.value, ast.Constant)
    first, second, last = ast.unparse(statements[0]), ast.unparse(statements[1]), ast.unparse(statements[-1])
    assert (first, second, last) == ("import gc", "gc.disable()", "coldstart.done()")


def test_after_loading_every_handler_the_collector_runs_and_skips_what_loaded():
    names = [fn.module for fn in wiring.FUNCTIONS]
    code = (
        "import gc, importlib, json, sys\n"
        "states = []\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    states.append([gc.isenabled(), gc.get_freeze_count()])\n"
        "print(json.dumps(states))\n"
    )
    env = {**os.environ, **wiring.FUNCTION_ENVIRONMENT, "AWS_DEFAULT_REGION": "eu-west-3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    states = json.loads(done.stdout.splitlines()[-1])
    assert all(enabled for enabled, _frozen in states)
    assert states[0][1] > 10_000  # the first handler's modules, frozen


def test_no_function_loads_the_response_models():
    """Routes name their response models; only the OpenAPI document's writer
    loads them (invoicing.models.responses): 50 classes no request uses."""
    names = [fn.module for fn in wiring.FUNCTIONS]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print('invoicing.models.responses' in sys.modules, 'invoicing.models.invoices' in sys.modules)\n"
    )
    env = {**os.environ, **wiring.FUNCTION_ENVIRONMENT, "AWS_DEFAULT_REGION": "eu-west-3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    assert done.stdout.splitlines()[-1] == "False True"  # the request models are loaded, the response models not
