"""The embedded AWS: moto's WSGI app on a non-threaded werkzeug server.

One request at a time inside the emulator, so it is linearizable like
DynamoDB's per-item atomicity (moto's own ThreadedMotoServer is not: see
../shared/EMULATION.md). Handlers reach it only through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from infra import wiring
from infra.local.resources import (
    BUCKET_NAME,
    PAY_LINK_SECRET_NAME,
    STRIPE_SECRET_NAME,
    TABLE_NAME,
    create_bucket,
    create_pay_link_secret,
    create_stripe_secret,
    create_table,
)
from invoicing.settings import WEBHOOKS_LOOPBACK_ENV

REGION = "eu-west-3"
# The platform's sender, for businesses without their own; its domain is a
# verified SES identity in the emulation.
DEFAULT_SENDER = "factures@invoicing.local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Emulation:
    endpoint: str
    table_name: str
    _server: Any = None
    queues: Any = None  # work queue name → (URL, dead-letter URL)

    @classmethod
    def start(cls, port: int = 0, host: str = "127.0.0.1") -> Emulation:
        import moto.server
        from werkzeug.serving import make_server

        from infra.local import gsi_queries, sqs_counts, transactions

        transactions.install()  # a transaction costs what it touches, not the table (see its docstring)
        sqs_counts.install()  # a message sent or received costs itself, not the queue's length
        gsi_queries.install()  # a query of an index reads its partition, not the table

        class QuietHandler(moto.server.MotoRequestHandler):  # type: ignore[misc]
            def log_request(self, *args: Any) -> None:
                pass

        app = moto.server.DomainDispatcherApplication(moto.server.create_backend_app)
        server = make_server(host, port or free_port(), app, threaded=False, request_handler=QuietHandler)
        threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
        emulation = cls(endpoint=f"http://{host}:{server.server_port}", table_name=TABLE_NAME, _server=server)
        emulation.provision()
        return emulation

    def client(self, service: str) -> Any:
        """A client of this emulation's server. Never of an in-process moto
        mock: while one is active (a test's), moto intercepts every client
        of the process, and the runtime's own threads (the queue pollers)
        would read the test's queues instead of the server's."""
        import boto3
        import botocore.session

        session = botocore.session.get_session()
        try:
            from moto.core.models import botocore_stubber

            session.unregister("before-send", botocore_stubber)
        except ImportError:  # moto is the server here; without its mock nothing intercepts
            pass
        return boto3.Session(botocore_session=session).client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def provision(self) -> None:
        """Create what the CDK stack would create."""
        create_table(self.client("dynamodb"), self.table_name)
        create_bucket(self.client("s3"), BUCKET_NAME)
        self.client("sesv2").create_email_identity(EmailIdentity=DEFAULT_SENDER.rpartition("@")[2])
        create_stripe_secret(self.client("secretsmanager"))
        create_pay_link_secret(self.client("secretsmanager"))
        from infra.local.queues import create_work_queues

        self.queues = create_work_queues(self.client("sqs"))

    def environment(self) -> dict[str, str]:
        """What a handler needs to find the emulated resources — endpoint
        configuration only, as on AWS."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "TABLE_NAME": self.table_name,
            wiring.DOCUMENTS_BUCKET_ENV: BUCKET_NAME,
            wiring.STRIPE_SECRET_ENV: STRIPE_SECRET_NAME,
            wiring.PAY_LINK_SECRET_ENV: PAY_LINK_SECRET_NAME,
            # endpoints on this machine (the README's CRM, the tests' receivers), when asked for
            **{name: "1" for name in [WEBHOOKS_LOOPBACK_ENV] if os.environ.get(name) == "1"},
            **{
                name: url
                for work in wiring.QUEUES
                if work.name in (self.queues or {})
                for name, url in zip((work.url_env, work.dead_letters_env), (self.queues or {})[work.name], strict=True)
                if name
            },
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
