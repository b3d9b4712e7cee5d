"""EventBridge Pipes, locally: the table's change stream to the bus (SPEC §16).

As the stack's pipe does (`wiring.PIPE`): read the emulation's DynamoDB
stream from its start, keep the records whose keys the pipe's filter passes,
hand them in batches to the enrichment function (invoicing.events: the
events each change holds) and put what it answers on the bus. A batch is
done only once the bus took every event of it: until then the same records
are read again, after a pause that grows (a bus that refuses events for a
while gets them once it recovers; those it took before refusing come again,
and their consumers do nothing twice). moto's server-mode stream gives one
record per item of a transaction, in commit order (../shared/EMULATION.md).

`StreamReader` is the reading alone, shared with the tests that run the
handlers in-process on moto (tests/conftest.py).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from infra import wiring

POLL_S = 0.25  # between two reads at the soonest, as Pipes polls a shard about 4 times a second
# Idle, a read a second: the runtime's functions make the writes, and each
# invocation that ends wakes the pipe (`wake`), so a commit is read as soon as on
# AWS, without four reads a second against moto all day (a tenth of a core,
# measured). A write made from outside the runtime (`make invoke`) waits a second.
IDLE_POLL_S = 1.0
RETRY_BASE_S = 0.1
RETRY_MAX_S = 5.0

logger = logging.getLogger(__name__)


class StreamReader:
    """The records of a table's stream, oldest first, each once: `read`
    returns what was committed since the last read, from every shard. Each
    read asks for a fresh iterator after the last record it saw (an
    iterator expires after 15 minutes on AWS; moto's can be left behind).

    Probed with moto 5.2.5 (server): a TransactWriteItems cancelled by a
    condition restores the table and its stream, but an iterator taken
    before it still reads records of the writes the transaction applied
    before its failing check (an INSERT of an item that was never
    committed), and none of the commits after it; a fresh iterator reads
    the commits only. (The emulation's own TransactWriteItems,
    infra/local/transactions.py, writes nothing of a cancelled transaction;
    a fresh iterator each read stays the safe way to read moto's stream.)"""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self.streams, self.stream_arn = streams, stream_arn
        self._last: dict[str, str] = {}  # shard → the sequence number of the last record read

    def read(self) -> list[dict[str, Any]]:
        # listed at every read: a stream opens new shards as it grows
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for id in (shard["ShardId"] for shard in shards):
            where = {"ShardIteratorType": "TRIM_HORIZON"}
            if id in self._last:
                where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last[id]}
            iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=id, **where)["ShardIterator"]
            while iterator is not None:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                records += page["Records"]
                self._last[id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                iterator = page.get("NextShardIterator")
        return records


def as_handed(value: Any) -> Any:
    """A record as Pipes hands it to the enrichment function: JSON, binary
    attributes in base64, times in epoch seconds (boto3 gave bytes and
    datetimes)."""
    if isinstance(value, dict):
        return {key: as_handed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_handed(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def bus_entry(found: dict[str, Any]) -> dict[str, Any]:
    """What the enrichment answered for one event, as the pipe's target
    puts it on the bus (DetailType `$.detail_type`, the detail `<$.detail>`)."""
    return {"Source": wiring.EVENT_SOURCE, "DetailType": found["detail_type"], "Detail": json.dumps(found["detail"])}


class LocalPipe:
    """The pipe, run by a thread of the local runtime. `enrich` runs the
    enrichment function on a batch of records; `put` is the bus's PutEvents
    for one entry (an "ErrorCode" in its answer: refused)."""

    def __init__(
        self,
        reader: StreamReader,
        enrich: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        put: Callable[[dict[str, Any]], dict[str, str]],
        pipe: wiring.StreamPipe = wiring.PIPE,
    ) -> None:
        self.reader, self.enrich, self.put, self.pipe = reader, enrich, put, pipe
        self.batches = 0  # handed to the enrichment, retries included
        self.failures = 0  # batches that failed (the enrichment or the bus)
        self._waiting: list[dict[str, Any]] = []  # read, not yet put on the bus
        self._reads = 0  # reads that found nothing left to do: what `drain` waits for
        self._changed = threading.Condition()
        self._wake = threading.Event()  # read soon, not after the idle pause
        self._now = threading.Event()  # read now (`drain`), not POLL_S after the last read
        self._stop = threading.Event()
        self._deaf = threading.Event()  # what is read now is dropped (`unheard`)
        self._thread = threading.Thread(target=self._run, name="pipe", daemon=True)

    def start(self) -> LocalPipe:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._now.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def wake(self) -> None:
        """Read soon: a function ended, and may have committed something."""
        self._wake.set()

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every change committed before this call went to the
        bus (two reads that found nothing left); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            target = self._reads + 2
            while self._reads < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._now.set()
                self._wake.set()
                self._changed.wait(min(left, POLL_S))
        return True

    @contextmanager
    def unheard(self, timeout_s: float = 600.0) -> Iterator[None]:
        """What is committed within this block never reaches the bus: rows a
        bench writes straight to the table, as a data migration would, are
        no business's events (no PDF, no webhook for them). What was
        committed before it went out first."""
        if not self.drain(timeout_s):
            raise TimeoutError("the pipe did not catch up before the unheard writes")
        self._deaf.set()
        try:
            yield
        finally:
            caught_up = self.drain(timeout_s)  # its reads drop what the block wrote
            self._deaf.clear()
        if not caught_up:
            raise TimeoutError("the pipe did not read past the unheard writes")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            read: list[dict[str, Any]] = []
            began = time.monotonic()
            try:
                if not self._waiting:
                    read = self.reader.read()
                    heard = [] if self._deaf.is_set() else read
                    self._waiting = [as_handed(r) for r in heard if self.pipe.passes(r["dynamodb"]["Keys"])]
                while self._waiting:
                    batch = self._waiting[: self.pipe.batch_size]
                    self._deliver(batch)
                    del self._waiting[: len(batch)]
                failures = 0
            except Exception as error:  # the enrichment failed, the bus refused, the stream was gone
                self.failures += 1
                failures += 1
                logger.warning("pipe: batch failed (%r); retrying", error)
                self._stop.wait(min(RETRY_MAX_S, RETRY_BASE_S * 2 ** min(failures, 10)))
                continue
            with self._changed:
                self._reads += 1
                self._changed.notify_all()
            self._wake.wait(POLL_S if read else IDLE_POLL_S)
            self._wake.clear()
            # woken by functions ending one after another: 4 reads a second at most, as on AWS
            self._now.wait(max(0.0, POLL_S - (time.monotonic() - began)))
            self._now.clear()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        self.batches += 1
        for found in self.enrich(batch):
            answer = self.put(bus_entry(found))
            if "ErrorCode" in answer:
                raise BusRefused(f"{answer['ErrorCode']}: {answer.get('ErrorMessage', '')}")


class BusRefused(Exception):
    """The bus did not take an event: the batch is tried again."""
