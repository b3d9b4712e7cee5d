"""Every function is traced (invoicing.tracing): on Lambda, its handler and
its AWS calls reach X-Ray as subsegments, and no response is recorded."""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infra import wiring

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "Root=1-6930a1f0-5c1e2d3f4a5b6c7d8e9f0a1b;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_every_handler_is_traced_without_its_response(fn):
    tree = ast.parse((ROOT / fn.code_dir / "handler.py").read_text(encoding="utf-8"))
    (handler,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler"]
    decorators = [ast.unparse(decorator) for decorator in handler.decorator_list]
    assert "tracer.capture_lambda_handler(capture_response=False)" in decorators


def test_on_lambda_the_handler_and_its_aws_calls_reach_the_daemon():
    """The totals function run as Lambda runs it (its task root, a sampled
    trace header), its X-Ray daemon a socket here: the handler's subsegment
    arrives, annotated with the cold start, without the response body; and
    botocore is patched as soon as it loads, so each AWS call is a
    subsegment of it."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(30)
    body = {
        "currency": "EUR",
        "lines": [{"quantity": "2", "unit_price": "10.00", "taxes": [{"name": "TVA", "rate": "20"}]}],
    }
    event = {
        "resource": "/totals", "path": "/totals", "httpMethod": "POST", "headers": {"Content-Type": "application/json"},
        "requestContext": {"authorizer": {"claims": {"sub": "u", "custom:tenant_id": "acme"}}, "requestId": "r"},
        "body": json.dumps(body), "isBase64Encoded": False,
    }  # fmt: skip
    code = (
        "import json, sys\n"
        "from functions.totals.handler import lambda_handler\n"
        "from infra import wiring\n"
        "from infra.local.lambdas import Context\n"
        "answer = lambda_handler(json.loads(sys.argv[1]), Context(wiring.function('totals'), 'trace'))\n"
        "from aws_xray_sdk.core import patcher\n"
        "before = sorted(patcher._PATCHED_MODULES)\n"
        "import boto3\n"
        "print(json.dumps([answer['statusCode'], before, sorted(patcher._PATCHED_MODULES)]))\n"
    )
    env = {
        **{key: value for key, value in os.environ.items() if key != "POWERTOOLS_TRACE_DISABLED"},
        **wiring.FUNCTION_ENVIRONMENT,
        "AWS_DEFAULT_REGION": "eu-west-3",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "invoicing-totals",
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }
    try:
        done = subprocess.run([sys.executable, "-c", code, json.dumps(event)], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        status, before, patched = json.loads(done.stdout.splitlines()[-1])
        assert status == 200
        header, document = daemon.recv(65536).decode().split("\n", 1)
    finally:
        daemon.close()
    assert json.loads(header) == {"format": "json", "version": 1}
    segment = json.loads(document)
    assert segment["name"] == "## lambda_handler"
    assert segment["trace_id"] == "1-6930a1f0-5c1e2d3f4a5b6c7d8e9f0a1b"
    assert segment["annotations"]["ColdStart"] is True
    assert segment["annotations"]["Service"] == "invoicing"
    assert "lambda_handler response" not in json.dumps(segment.get("metadata", {}))
    assert "24.00" not in document  # the total it answered
    assert before == []  # the totals function loads no AWS client: nothing patched at its cold start
    assert patched == ["botocore"]  # once one loads, every AWS call a subsegment; httpx, requests untouched
