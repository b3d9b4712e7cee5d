"""moto's DynamoDB, with a global index's query reading its partition, not
the table.

moto 5.2's Query on a global secondary index walks every item of the
table for each page it answers, to find the items of the partition asked
(DynamoDB reads the partition only). A report of a tenant's 10,000
invoices is 20 pages of its `by_date` partition: in a table of 110,000
items, 2.2 million items walked, past API Gateway's 29 seconds on the
emulation's one thread (`make bench`, measured), where DynamoDB answers
in a few hundred milliseconds.

Here the items of an index's partition are found once and kept until the
next write to the table (any put, update or delete, a transaction's or a
batch's included): the pages after the first read from them. moto's own
query then runs on them as before (keys, ranges, filters, order, limits,
start keys): its answers are unchanged. tests/integration/
test_emulation_gsi.py holds them to moto's own.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

INDEX_NAME = 7  # Table.query's index_name, as the backend passes it (positional, after self)
_installed = False
_lock = threading.RLock()
_narrowed = threading.local()  # while a query on an index runs: (table, cache key)


def install() -> None:
    """Patch moto's DynamoDB in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    every_item = Table.all_items
    query = Table.query

    def all_items(self: Any) -> list[Any]:
        narrowed = getattr(_narrowed, "key", None)
        if narrowed is None or narrowed[0] is not self:
            return every_item(self)  # type: ignore[no-any-return]
        _, key, conditions = narrowed
        with _lock:
            cache = self.__dict__.setdefault("_partitions", {})
            found = cache.get(key)
            if found is None:
                found = cache[key] = [item for item in every_item(self) if _in(item, conditions)]
            return list(found)

    def indexed_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        conditions = kwargs.get("hash_key_conditions")
        index = kwargs.get("index_name", args[INDEX_NAME] if len(args) > INDEX_NAME else None)
        if not index or not conditions:
            return query(self, *args, **kwargs)
        key = (index, tuple((name, repr(value)) for name, value in conditions))
        _narrowed.key = (self, key, conditions)
        try:
            return query(self, *args, **kwargs)
        finally:
            _narrowed.key = None

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = indexed_query  # type: ignore[method-assign]
    for name in ("put_item", "delete_item"):
        setattr(Table, name, _forgetting(getattr(Table, name), lambda table, *_, **__: table))
    for name in ("update_item", "delete_item", "put_item", "batch_write_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, _forgetting(getattr(DynamoDBBackend, name), None))
    _installed = True


def _in(item: Any, conditions: list[tuple[str, Any]]) -> bool:
    """Whether the item is in the index's partition (moto's own test: an item without the key is in none)."""
    return all(item.attrs.get(name) is not None and item.attrs[name] == value for name, value in conditions)


def _forgetting(write: Any, table_of: Any) -> Any:
    """`write`, after which the partitions kept are forgotten: its table's
    (a table's own write), every table's (the backend's, which names it in
    its arguments in several shapes)."""

    @functools.wraps(write)  # what another patch hung on it (transactions.py's `moto`) stays reachable
    def written(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return write(self, *args, **kwargs)
        finally:
            with _lock:
                tables = [table_of(self)] if table_of is not None else list(getattr(self, "tables", {}).values())
                for table in tables:
                    table.__dict__.pop("_partitions", None)

    return written
