"""The whole system on one machine: the embedded AWS, the functions, and the
gateway in front of them. `make dev` runs `python -m infra.local.runtime`;
the end-to-end tests start the same thing from a fixture."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from infra import wiring
from infra.local import swagger
from infra.local.bus import Bus
from infra.local.emulation import DEFAULT_SENDER, REGION, Emulation
from infra.local.gateway import Gateway, jwt_secret
from infra.local.lambdas import Lambdas
from infra.local.outbox import outbox_route
from infra.local.pipe import LocalPipe, StreamReader
from infra.local.queues import InBackground, QueuePoller
from infra.local.resources import table_stream_arn
from infra.local.stripe_standin import StripeStandIn

ROOT = Path(__file__).resolve().parents[2]


def mint_token(tenant: str, subject: str = "local-user", ttl_s: int = 24 * 3600) -> str:
    """A token like the ones Cognito issues, signed with LOCAL_JWT_SECRET."""
    now = int(time.time())
    claims = {"sub": subject, "custom:tenant_id": tenant, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, jwt_secret(), algorithm="HS256")


@dataclass
class LocalRuntime:
    emulation: Emulation
    lambdas: Lambdas
    gateway: Gateway
    bus: Bus
    pipe: LocalPipe
    stripe: StripeStandIn | None = None  # without STRIPE_SECRET_KEY, Stripe is the local stand-in
    pollers: dict[str, QueuePoller] | None = None  # the work queues' event sources, run by the tick
    background: tuple[InBackground, ...] = ()  # those read all the time (not filled by the tick)

    @property
    def url(self) -> str:
        return self.gateway.url

    @classmethod
    def start(cls, port: int = 0, moto_port: int = 0, host: str = "127.0.0.1") -> LocalRuntime:
        if str(ROOT) not in sys.path:  # the functions' code, as Lambda's task root (the package is installed)
            sys.path.insert(0, str(ROOT))
        emulation = Emulation.start(moto_port, host)
        environment = {
            **emulation.environment(),
            **wiring.FUNCTION_ENVIRONMENT,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            "LAMBDA_TASK_ROOT": str(ROOT),  # so the X-Ray SDK loads as on Lambda, without its sampling clients
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
        layer_fonts = ROOT / "build" / "layers" / "pdf" / "fonts"
        if (layer_fonts / "DejaVuSans.ttf").is_file():  # the font the Lambda layer ships
            environment["FONTS_DIR"] = str(layer_fonts)
        gateway = Gateway((host, port), {**swagger.routes(), ("GET", "/_local/outbox"): outbox_route(REGION)})
        bus = Bus((host, 0), REGION)
        environment.update(
            {
                "PUBLIC_BASE_URL": gateway.url,  # the hosted-page links point at this gateway
                "DEFAULT_SENDER": DEFAULT_SENDER,  # verified in the emulation, as an operator would in SES
            }
        )
        stripe = None
        if not os.environ.get("STRIPE_SECRET_KEY"):
            stripe = StripeStandIn(
                webhook_url=f"{gateway.url}/webhooks/stripe",
                webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local_dev"),
            ).start(host)
            environment["STRIPE_API_BASE"] = stripe.url
        lambdas = Lambdas(environment)
        gateway.lambdas = bus.lambdas = lambdas
        sqs = emulation.client("sqs")
        pollers = {work.name: QueuePoller(sqs, lambdas, work, emulation.queues[work.name][0]) for work in wiring.QUEUES}
        streams = emulation.client("dynamodbstreams")
        reader = StreamReader(streams, table_stream_arn(emulation.client("dynamodb"), emulation.table_name))
        pipe = LocalPipe(reader, enrich=lambda batch: lambdas.run(wiring.PIPE.enrichment, batch), put=bus.put)
        gateway.extra_routes[("POST", "/_local/tick")] = lambda body: tick(body, lambdas, pollers, pipe, bus)
        scheduled = {schedule.function for schedule in wiring.SCHEDULES}
        background = tuple(InBackground(poller) for poller in pollers.values() if poller.work.function not in scheduled)
        threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True).start()
        threading.Thread(target=bus.serve_forever, name="bus", daemon=True).start()
        lambdas.warm()
        pipe.start()
        for queue in background:
            queue.start()
        lambdas.on_end += [pipe.wake, *(queue.wake for queue in background)]
        return cls(emulation, lambdas, gateway, bus, pipe, stripe, pollers, background)

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until what was committed reached its consumers: the pipe
        caught up, the bus's deliveries ended, and again while those made
        changes that hold events, and the queues read in the background
        are empty; False on timeout."""
        deadline = time.monotonic() + timeout_s
        queued = all(queue.drain(timeout_s) for queue in self.background)
        return queued and settled(self.pipe, self.bus, max(0.0, deadline - time.monotonic()))

    def pause(self) -> None:
        """Let what was committed reach its consumers, then read the stream
        no more (the end-to-end tests' runtime, before in-process mocks
        share its moto)."""
        if self.pipe.running:
            self.drain(timeout_s=30)
            self.pipe.stop()
        for queue in self.background:
            queue.stop()

    def stop(self) -> None:
        for queue in self.background:
            queue.stop()
        self.pipe.stop()
        self.bus.shutdown()
        self.bus.server_close()
        self.gateway.shutdown()
        self.gateway.server_close()
        self.lambdas.close()
        if self.stripe is not None:
            self.stripe.stop()
        self.emulation.stop()


def settled(pipe: LocalPipe, bus: Bus, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        before = pipe.batches
        left = deadline - time.monotonic()
        if not (pipe.drain(timeout_s=left) and bus.drain(timeout_s=max(0.0, deadline - time.monotonic()))):
            return False
        if pipe.batches == before:
            return True


def tick(
    body: bytes, lambdas: Lambdas, pollers: dict[str, QueuePoller], pipe: LocalPipe, bus: Bus
) -> tuple[int, str, bytes]:
    """POST /_local/tick {"date": "YYYY-MM-DD"} (SPEC §9.1): fire every
    scheduled rule as of that date, in their order of the day, wait for the
    work each fans out (its queue, then the bus: PDFs, reminders), and
    answer what was done."""
    from datetime import date

    try:
        day = date.fromisoformat(json.loads(body or b"{}")["date"])
    except (KeyError, TypeError, ValueError):
        return _json(400, {"error": {"code": "invalid_input", "message": 'send {"date": "YYYY-MM-DD"}',
                                     "fields": [{"field": "date", "message": "a date, YYYY-MM-DD"}]}})  # fmt: skip
    summary: dict[str, Any] = {"date": day.isoformat()}
    for schedule in sorted(wiring.SCHEDULES, key=lambda item: (int(item.cron.split()[1]), int(item.cron.split()[0]))):
        minute, hour = schedule.cron.split()[:2]
        fired = {**schedule.input, "time": f"{day.isoformat()}T{int(hour):02d}:{int(minute):02d}:00Z",
                 "id": str(uuid.uuid4())}  # fmt: skip
        before = {name: dict(poller.done) for name, poller in pollers.items()}
        started = lambdas.run(schedule.function, fired)
        drained = all(poller.drain() for poller in pollers.values()) and settled(pipe, bus, timeout_s=120)
        done = {key: sum(poller.done[key] - before[name].get(key, 0) for name, poller in pollers.items())
                for key in ("candidates", "done", "failed", "deferred")}  # fmt: skip
        summary[schedule.name] = {**done, "shards": started.get("shards"), "finished": drained}
    return _json(200, summary)


def _json(status: int, payload: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(payload).encode()


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    moto_port = int(os.environ.get("MOTO_PORT", "4566"))
    runtime = LocalRuntime.start(port, moto_port)
    tenant = os.environ.get("TENANT", "acme")
    token = mint_token(tenant)
    print(
        f"""
Invoicing API on {runtime.url}  (embedded AWS on {runtime.emulation.endpoint})

  token (tenant {tenant}):  {token}
  OpenAPI:              {runtime.url}/openapi.json   Swagger UI: {runtime.url}/swagger
  Stripe:               {
            runtime.stripe.url + " (local stand-in: pay by hand, it sends the webhook events)"
            if runtime.stripe
            else "api.stripe.com with STRIPE_SECRET_KEY"
        }

  curl -s -X PUT {runtime.url}/business -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"legal_name": "Acme SAS"}}'
  (export TOKEN=... first; `make token TENANT=other` mints another tenant's)

Ctrl-C stops everything; the emulation keeps nothing.
""",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runtime.stop()


if __name__ == "__main__":
    main()
