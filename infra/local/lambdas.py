"""Lambda, locally: each function runs in worker processes of its own, one
event at a time per worker, like Lambda's execution environments. Workers
start on demand (a cold start) and stay warm; several run at once when
requests overlap, as Lambda scales out.

Processes rather than threads: a handler's module globals (the Powertools
resolver keeps the current event on itself) belong to one execution
environment, exactly as on AWS. They are forked from a server process
that has loaded the libraries every function loads (boto3, pydantic,
Powertools: `PRELOADED`), and nothing of ours: a new environment still
imports its handler, with its own environment variables, as Lambda's
init does, but not 300 ms of libraries first. (A fork server, not a fork
of this process: this one runs threads.)
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from infra import wiring

MAX_CONCURRENCY = 10  # environments per function (Lambda's reserved concurrency, locally)
THROTTLE_WAIT_S = 10
COLD_START_S = 10  # Lambda's init phase has a limit of its own, 10 s, not counted in the function's timeout
# Libraries only: none of the function environment's variables is read when they are imported
# (the workers get theirs after the fork; Powertools reads a few of AWS's own, which no function sets).
PRELOADED = ["boto3", "botocore.session", "pydantic", "aws_lambda_powertools.event_handler"]


class Throttled(Exception):
    """Every execution environment of the function stayed busy."""


class Crashed(Exception):
    """The execution environment died while it ran the event (killed, out of memory)."""


class TimedOut(Exception):
    """The handler ran past the function's timeout."""


class Context:
    """The fields of Lambda's context object that handlers and Powertools read."""

    def __init__(self, fn: wiring.Function, request_id: str) -> None:
        self.function_name = f"invoicing-{fn.name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-3:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = fn.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + fn.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": code, "message": message}}),
    }


def function_environment(fn: wiring.Function, environment: dict[str, str]) -> dict[str, str]:
    """What the stack gives this function: the secrets' names only to their readers."""
    granted = dict(environment)
    if not fn.reads_stripe_secret:
        granted.pop(wiring.STRIPE_SECRET_ENV, None)
    if not fn.signs_pay_links:
        granted.pop(wiring.PAY_LINK_SECRET_ENV, None)
    for work in wiring.QUEUES:
        if fn.name not in (work.function, *work.producers):
            granted.pop(work.url_env, None)
        if fn.name != work.function and work.dead_letters_env:
            granted.pop(work.dead_letters_env, None)
    return {**granted, **fn.environment}


def _start_worker(environment: dict[str, str]) -> None:
    os.environ.update(environment)


def _invoke_in_worker(function_name: str, event: dict[str, Any], request_id: str) -> dict[str, Any]:
    fn = wiring.function(function_name)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = f"invoicing-{fn.name}"
    module = importlib.import_module(fn.module)
    response: dict[str, Any] = module.lambda_handler(event, Context(fn, request_id))
    return response


def _warm(function_name: str) -> None:
    importlib.import_module(wiring.function(function_name).module)


class Lambdas:
    def __init__(self, environment: dict[str, str], concurrency: int = MAX_CONCURRENCY) -> None:
        self._environment = environment
        self._concurrency = {fn.name: fn.reserved_concurrency or concurrency for fn in wiring.FUNCTIONS}
        self._free = {name: threading.BoundedSemaphore(count) for name, count in self._concurrency.items()}
        self._pools = {fn.name: self._pool(fn) for fn in wiring.FUNCTIONS}
        self._replacing = threading.Lock()
        # called when an invocation ends, however: what reads the table's stream and the queues
        self.on_end: list[Callable[[], None]] = []

    def _pool(self, fn: wiring.Function) -> ProcessPoolExecutor:
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOADED)
        else:  # Windows: a fresh interpreter each, as before
            context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self._concurrency[fn.name],
            mp_context=context,
            initializer=_start_worker,
            initargs=(function_environment(fn, self._environment),),
        )

    def warm(self) -> None:
        """Start one environment per function (the first cold start)."""
        for future in [pool.submit(_warm, name) for name, pool in self._pools.items()]:
            future.result()

    def invoke(self, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        """A synchronous invocation, as API Gateway makes it: throttling and
        timeouts answer as API Gateway does (429, 504)."""
        try:
            return self.run(function_name, event)
        except Throttled:
            return _error(429, "throttled", "Rate exceeded: every execution environment is busy")
        except TimedOut:
            return _error(504, "timeout", "Endpoint request timed out")
        except Crashed:
            return _error(502, "runtime_exited", "Internal server error")

    def run(
        self, function_name: str, event: dict[str, Any], entry: Callable[..., dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Run the event in a free environment and return what the handler
        returned; raise what it raised, Throttled or TimedOut. With every
        environment busy past THROTTLE_WAIT_S the request is throttled, never
        queued behind a timeout: a queued request could time out for the
        client and still run afterwards. (One that times out while running
        goes on in its worker, where Lambda would stop it; its environment
        stays busy until it ends.) An environment that dies (killed, out of
        memory) raises Crashed, and the function's next events run in new
        ones. `entry` runs in the environment instead of the handler (the
        drills: a handler that dies after its commit)."""
        fn = wiring.function(function_name)
        free = self._free[function_name]
        if not free.acquire(timeout=THROTTLE_WAIT_S):
            raise Throttled(function_name)
        try:
            pool = self._pools[function_name]
            future = pool.submit(entry or _invoke_in_worker, function_name, event, str(uuid.uuid4()))
        except BaseException:
            free.release()
            raise
        # the environment is free when the work ends, not when the caller gives up
        future.add_done_callback(lambda _done: self._ended(free))
        try:
            return future.result(timeout=fn.timeout_s + COLD_START_S)
        except FutureTimeout:
            raise TimedOut(function_name) from None
        except BrokenProcessPool:
            with self._replacing:  # one new pool, however many events the dead one took down
                if self._pools[function_name] is pool:
                    self._pools[function_name] = self._pool(fn)
                    pool.shutdown(wait=False, cancel_futures=True)
            raise Crashed(function_name) from None

    def _ended(self, free: threading.BoundedSemaphore) -> None:
        free.release()
        for wake in self.on_end:
            wake()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
