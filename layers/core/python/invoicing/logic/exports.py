"""Use cases of exports (SPEC §14): a file of the tenant's invoices,
payments or credit notes of a period (CSV), or its sales journal (FEC),
written to S3 in the background and fetched through a 5-minute link.

`POST /exports` records the export (`pending`) and queues its first
step. Each step reads the next documents of the period through the
`by_date` index — merged in date order when several kinds make the file
(the FEC: invoices, credit notes and payments) — at most STEP of them,
writes them as the next part of the file, records where it stopped and
queues the next step; the last step joins the parts into the file
(`ready`). So an export of any size completes, a step at a time, and
never reads anything outside its period.

A step is named by its part number: a step delivered twice (SQS delivers
at least once) finds its part already recorded and does nothing more
than make sure the next step is queued; two running at once each write
a part of their own (they may stop at different documents), and only one
records it, with its key (the export's version).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Any

from invoicing.domain import exports
from invoicing.domain.errors import Busy, NotFound, StaleVersion
from invoicing.logic import catalog
from invoicing.logic.common import Deps, every_page
from invoicing.logic.reports import period
from invoicing.logic.retry import time_left_ms
from invoicing.ports import Doc, PageOf, date_key, dated_cursor

KIND = "export"
STEP = 5_000  # documents a step reads at most
PAGE = 500  # documents a query reads
LINK_TTL_S = 300
STEP_RESERVE_MS = 15_000  # a step stops reading while it has this long left to write its part
MAX_RECEIVES = 5  # the queue's (infra/wiring.py): the last receive of a failing step marks the export failed
# A pending export whose last step is older than the queue's retries (5 receives, 6 minutes apart) stopped.
STALLED_AFTER = timedelta(minutes=45)
KEPT = timedelta(days=7)  # the bucket's lifecycle expires the files under exports/ after a week
SOURCES = {
    "invoices": ("invoice",),
    "credit_notes": ("credit_note",),
    "payments": ("payment_entry",),
    "fec": ("invoice", "credit_note", "payment_entry"),
}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "csv-fr": "text/csv; charset=utf-8",
                 "fec": "text/plain; charset=iso-8859-15"}  # fmt: skip


def create(deps: Deps, tenant: str, kind: str, start: date | None, end: date | None, style: str) -> Doc:
    """The export recorded, its first step queued: 202 {id, status}."""
    start, end = period(start, end, deps.today())
    assert deps.exports is not None, "the reports function has the exports' queue"
    doc = {
        "id": deps.new_id("exp"),
        "kind": kind,
        "format": "fec" if kind == "fec" else style,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "status": "pending",
        "parts": 0,
        "part_keys": [],
        "rows": 0,
        "documents": 0,
        "skipped": 0,
        "position": {},
        "numbers": {},
        "created_at": deps.timestamp(),
        "updated_at": deps.timestamp(),
        "version": 1,
    }
    deps.store.create(tenant, KIND, doc, name=None)
    try:
        deps.exports.send({"tenant": tenant, "export_id": doc["id"], "part": 0})
    except Exception:  # not queued: nothing would ever write it; the client asks again
        with suppress(Exception):  # failed, or (the table down too) pending until it reads as stopped
            _fail(deps, tenant, doc, "the export could not be queued")
        raise Busy("the export could not be queued; nothing is under way: ask again") from None
    return present(doc)


def get(deps: Deps, tenant: str, export_id: str) -> Doc:
    """The export as it stands; failed when its steps stopped (a step's
    queue gave up on it) or its file is gone (the bucket keeps it a week)."""
    doc = deps.store.get(tenant, KIND, export_id)
    if doc is None:
        raise NotFound("export")
    now = deps.now()
    if doc["status"] == "pending" and now - _at(doc.get("updated_at") or doc["created_at"]) > STALLED_AFTER:
        doc = {**doc, "status": "failed", "error": "the export stopped before its end; ask for it again"}
    if doc["status"] == "ready" and now - _at(doc["completed_at"]) > KEPT:
        doc = {**doc, "status": "failed", "error": f"its file was kept {KEPT.days} days; ask for the export again"}
    shown = present(doc)
    if doc["status"] == "ready":
        assert deps.blobs is not None
        content_type = CONTENT_TYPES[doc["format"]]
        shown["url"] = deps.blobs.download_url(doc["key"], doc["filename"], LINK_TTL_S, content_type, inline=False)
        shown["expires_in"] = LINK_TTL_S
    return shown


def present(doc: Doc) -> Doc:
    shown = {key: doc.get(key) for key in ("id", "kind", "format", "from", "to", "status", "created_at")}
    shown.update(rows=doc["rows"], documents=doc["documents"], skipped=doc["skipped"], url=None)
    if doc["status"] == "ready":
        shown.update(filename=doc["filename"], size=doc["size"], completed_at=doc["completed_at"])
    if doc["status"] == "failed":
        shown["error"] = doc.get("error")
    return shown


# -- the steps -----------------------------------------------------------------------------


def work(deps: Deps, message: Doc, receive_count: int = 1) -> str:
    """One step of an export: what it did ("written", "ready", "done before", "failed", "gone")."""
    tenant, export_id, part = message["tenant"], message["export_id"], int(message["part"])
    doc = deps.store.get(tenant, KIND, export_id)
    if doc is None:
        return "gone"
    if doc["status"] != "pending":
        return "done before"
    if doc["parts"] > part:  # this step was recorded
        if receive_count > 1 and doc["parts"] == part + 1:  # and this very message failed after: its next may be lost
            _next(deps, tenant, doc)
        return "done before"
    if doc["parts"] < part:  # a step from the future cannot exist: a message forged or misrouted
        return "gone"
    try:
        return _step(deps, tenant, doc)
    except Exception as error:
        if receive_count >= MAX_RECEIVES:
            _fail(deps, tenant, doc, f"{type(error).__name__}: the export could not be written")
            return "failed"
        raise


def _step(deps: Deps, tenant: str, doc: Doc) -> str:
    assert deps.blobs is not None
    business = catalog.get_business(deps, tenant)
    writer = _Writer(doc, business)
    finished = writer.run(_merged(deps, tenant, doc))
    part = doc["parts"]
    key = _part_key(tenant, doc, part, deps.new_id("run"))  # this run's own: another run never overwrites it
    text = writer.text()
    data = exports.fec_bytes(text) if doc["kind"] == "fec" else text.encode("utf-8")  # each part as the file is
    deps.blobs.put(key, data, "application/octet-stream")
    after = {**writer.state(), "parts": part + 1, "part_keys": [*doc["part_keys"], key], "version": doc["version"] + 1,
             "updated_at": deps.timestamp()}  # fmt: skip
    if finished:
        after.update(_joined(deps, tenant, after, business))
    try:
        deps.store.replace(tenant, KIND, after, expected_version=doc["version"], old_name=None, new_name=None)
    except StaleVersion:
        return "done before"  # the same step ran at once elsewhere, and recorded it first
    if finished:  # the parts, once the file they make is recorded (the bucket's lifecycle takes what is left)
        for recorded in after["part_keys"]:
            deps.blobs.delete(recorded)
        return "ready"
    _next(deps, tenant, after)
    return "written"


def _next(deps: Deps, tenant: str, doc: Doc) -> None:
    if doc["status"] == "pending":
        assert deps.exports is not None
        deps.exports.send({"tenant": tenant, "export_id": doc["id"], "part": doc["parts"]})


def _merged(deps: Deps, tenant: str, doc: Doc) -> Iterator[tuple[str, str, Doc]]:
    """(key, kind, document): the period's documents of the export's
    kinds after where the last step stopped, in date order."""
    streams = [_stream(deps, tenant, doc, kind, order) for order, kind in enumerate(SOURCES[doc["kind"]])]
    for _sort, key, kind, found in heapq.merge(*streams):
        yield key, kind, found


def _stream(
    deps: Deps, tenant: str, doc: Doc, kind: str, order: int
) -> Iterator[tuple[tuple[str, int, str], str, str, Doc]]:
    after = doc["position"].get(kind)

    def read(cursor: str | None) -> PageOf:
        return deps.store.dated(tenant, kind, start=doc["from"], end=doc["to"], limit=PAGE, cursor=cursor)

    for found in every_page(read, dated_cursor(after) if after else None):
        key = date_key(kind, found)
        assert key is not None
        yield (key[:10], order, key), key, kind, found


class _Writer:
    """A step's part of the file: its rows and where the export stands after them."""

    def __init__(self, doc: Doc, business: Doc) -> None:
        self.doc = doc
        self.business = business
        self.position = dict(doc["position"])
        self.numbers = dict(doc["numbers"])
        self.rows: list[Any] = []
        self.lines: list[str] = []
        self.documents = 0
        self.skipped = 0

    def run(self, found: Iterator[tuple[str, str, Doc]]) -> bool:
        """Read until STEP documents or the step's time; True when the period is done."""
        for count, (key, kind, item) in enumerate(found, 1):
            self.position[kind] = key
            self.documents += 1
            self._add(kind, item)
            left = time_left_ms()
            if count >= STEP or (left is not None and left < STEP_RESERVE_MS):
                return False
        return True

    def _add(self, kind: str, item: Doc) -> None:
        export = self.doc["kind"]
        if export != "fec":
            self.rows.append(exports.ROWS[export](item))
            return
        if item["currency"] != exports.FEC_CURRENCY:
            self.skipped += 1  # the books are in euros; a rate the system does not hold would be needed
            return
        accounting, operations = self.business["accounting"], self.business.get("operations") or "services"
        if kind == "invoice":
            entry = exports.invoice_entry(item, accounting, operations)
        elif kind == "credit_note":
            entry = exports.credit_note_entry(item, accounting, operations)
        else:
            found = exports.payment_entry(item)
            if found is None:
                return
            entry = found
        if not entry.lines:  # a document of 0.00 books nothing, and takes no number: the journal has no gap
            return
        if not entry.balanced():  # never written: the step fails, and the export with it
            raise ValueError(f"an unbalanced entry for {entry.piece}: not written")
        number = self.numbers.get(entry.journal, 0) + 1
        self.numbers[entry.journal] = number
        self.lines += exports.fec_lines(entry, number, accounting)

    def text(self) -> str:
        first = self.doc["parts"] == 0
        if self.doc["kind"] == "fec":
            lines = [exports.fec_header(), *self.lines] if first else self.lines
            return "".join(f"{line}\r\n" for line in lines)
        header = exports.COLUMNS[self.doc["kind"]] if first else None
        return exports.csv_text(self.rows, self.doc["format"], header=header)

    def state(self) -> Doc:
        written = len(self.lines) if self.doc["kind"] == "fec" else len(self.rows)
        return {
            **self.doc,
            "position": self.position,
            "numbers": self.numbers,
            "rows": self.doc["rows"] + written,
            "documents": self.doc["documents"] + self.documents,
            "skipped": self.doc["skipped"] + self.skipped,
        }


def _joined(deps: Deps, tenant: str, doc: Doc, business: Doc) -> Doc:
    """The parts joined into the file: where it is, its name and size."""
    assert deps.blobs is not None
    data = b"".join(deps.blobs.read(key) for key in doc["part_keys"])  # each part written as the file is
    if doc["kind"] == "fec":
        filename = exports.fec_filename(business.get("siren"), doc["to"])
    else:
        filename = f"{doc['kind']}-{doc['from']}-{doc['to']}{'-fr' if doc['format'] == 'csv-fr' else ''}.csv"
    key = f"exports/{tenant}/{doc['id']}/{filename}"
    deps.blobs.put(key, data, CONTENT_TYPES[doc["format"]])
    return {"status": "ready", "key": key, "filename": filename, "size": len(data), "completed_at": deps.timestamp()}


def _at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _part_key(tenant: str, doc: Doc, part: int, run: str) -> str:
    return f"exports/{tenant}/{doc['id']}/parts/{part:05d}-{run}"


def _fail(deps: Deps, tenant: str, doc: Doc, error: str) -> None:
    failed = {**doc, "status": "failed", "error": error, "version": doc["version"] + 1}
    with suppress(StaleVersion):  # it moved on meanwhile: not failed
        deps.store.replace(tenant, KIND, failed, expected_version=doc["version"], old_name=None, new_name=None)
