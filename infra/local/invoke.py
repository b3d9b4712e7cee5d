"""`make invoke FN=api EVENT=events/...json`: run one handler on a sample
event against the emulation, like `sam local invoke`, and print its answer.

It uses the emulation of a running `make dev` when there is one (so the
event sees what you created through the API), else an embedded one of its
own, fresh.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import uuid

from infra import wiring
from infra.local.emulation import Emulation
from infra.local.lambdas import Context
from infra.local.resources import TABLE_NAME


def _dev_emulation_running(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main(function_name: str, event_path: str) -> int:
    fn = wiring.function(function_name)
    with open(event_path, encoding="utf-8") as source:
        event = json.load(source)
    port = int(os.environ.get("MOTO_PORT", "4566"))
    if _dev_emulation_running(port):
        emulation = Emulation(endpoint=f"http://127.0.0.1:{port}", table_name=TABLE_NAME)
        print(f"using the running emulation on {emulation.endpoint}", file=sys.stderr)
    else:
        emulation = Emulation.start()
        print(f"started a fresh emulation on {emulation.endpoint}", file=sys.stderr)
    os.environ.update({**emulation.environment(), "POWERTOOLS_TRACE_DISABLED": "true", **fn.environment})
    handler = importlib.import_module(fn.module).lambda_handler
    response = handler(event, Context(fn, str(uuid.uuid4())))
    print(json.dumps(response, indent=2, ensure_ascii=False))
    if "statusCode" not in response:  # a bus event's handler: it raises when it fails
        return 0
    return 0 if int(response["statusCode"]) < 500 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make invoke FN=<function> EVENT=<events/file.json>")
    sys.exit(main(sys.argv[1], sys.argv[2]))
