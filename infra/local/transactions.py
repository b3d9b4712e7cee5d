"""TransactWriteItems in the emulation, at the cost of the items it touches.

moto 5.2 backs up every table a transaction names with `copy.deepcopy`
before it applies anything, and puts the copies back if a condition fails:
the whole table, with its stream's records, on every transaction. The
cost grows with what the table holds: measured here, 8 ms a transaction
on an empty table and 0.6 to 1.2 s once it holds one or two thousand
invoices. `make dev` slows down as it is used, and the tests' concurrency
races (ten writers on one counter, all in one table) took a minute.

DynamoDB checks every condition of a transaction before it writes any of
it. This does the same: every condition first, against the items as they
are (a transaction's items are distinct, so no check can depend on
another's write); a failed one cancels the transaction, with the same
reasons moto gives and nothing written, to the table or its stream. Then
each write, through moto's own single-item writes. Only the items touched
are copied first: a write moto refuses while applying (an update
expression it rejects) puts them and the stream back, and the
transaction runs again through moto's own method, for its exact answer.
Anything unusual (an operation on the same item twice, an unknown
operation, a missing table) goes to moto's method from the start.

Installed by the emulation's server (infra/local/emulation.py) in its
process; tests/integration/test_emulation_transactions.py holds it to
moto's answers.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_installed = False
# One transaction at a time in this process: the emulation's server is
# single-threaded, but in-process tests run moto from several threads, and
# two transactions passing their checks together would undo each other.
_one_at_a_time = threading.RLock()


def install() -> None:
    """Replace moto's TransactWriteItems in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _one_at_a_time:
            prepared = _prepared(self, transact_items)
            if prepared is None:
                return original(self, transact_items)  # type: ignore[no-any-return]
            _check(prepared)
            touched = [(table, key, copy.deepcopy(current)) for _, table, key, current, _ in prepared]
            streams = {id(table): (table, _stream_length(table)) for _, table, _, _, _ in prepared}
            try:
                for op_type, table, key, _, op in prepared:
                    _apply(self, op_type, table, key, op)
            except Exception:
                _restore(self, touched, streams.values())
                return original(self, transact_items)  # type: ignore[no-any-return]
            return None

    transact_write_items.moto = original  # type: ignore[attr-defined]  # moto's own, for the tests to compare
    DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


Prepared = tuple[str, Any, dict[str, Any], Any, dict[str, Any]]  # operation, table, key, current item, its request
# moto's parsed condition, under a key of the request no AWS field has
_CONDITION = "__parsed_condition"


def _prepared(backend: Any, transact_items: list[dict[str, Any]]) -> list[Prepared] | None:
    """Each operation with its table, key and current item; None for what
    moto's own method should answer."""
    if not transact_items or len(transact_items) > 100:
        return None
    prepared, keys = [], set()
    for entry in transact_items:
        if len(entry) != 1:
            return None
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"} or op.get("TableName") not in backend.tables:
            return None
        table = backend.tables[op["TableName"]]
        if op_type == "Put":
            attrs = op["Item"]
            if table.hash_key_attr not in attrs or (table.range_key_attr and table.range_key_attr not in attrs):
                return None
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op.get("Key")
            if not key:
                return None
        unique = (op["TableName"], str(dict(sorted(key.items()))))
        if unique in keys:
            return None
        keys.add(unique)
        try:
            current = backend.get_item(op["TableName"], key)
            condition = _condition(op)
        except Exception:  # moto's own method answers as moto does (a cancellation reason, a ValidationException)
            return None
        prepared.append((op_type, table, key, current, {**op, _CONDITION: condition}))
    return prepared


def _check(prepared: list[Prepared]) -> None:
    """Every condition against the items as they are; the transaction is
    cancelled, nothing written, if one fails (reasons as moto gives them)."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException

    errors: list[tuple[Any, Any, Any]] = []
    for _, _, _, current, op in prepared:
        expression = op[_CONDITION]
        if expression is None or expression.expr(current):
            errors.append((None, None, None))
            continue
        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        old = current.to_json()["Attributes"] if wants_old and current else None
        errors.append(("ConditionalCheckFailed", str(ConditionalCheckFailed(item=old).message), old))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)


def _condition(op: dict[str, Any]) -> Any:
    """The operation's condition, parsed by moto (None without one)."""
    from moto.dynamodb.comparisons import get_filter_expression

    if op.get("ConditionExpression") is None:
        return None
    return get_filter_expression(
        op["ConditionExpression"], op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )


def _apply(backend: Any, op_type: str, table: Any, key: dict[str, Any], op: dict[str, Any]) -> None:
    """One write, through moto's single-item methods (which update the stream)."""
    options = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table.name, op["Item"], **options)  # checks its condition again: nothing changed since
    elif op_type == "Delete":
        backend.delete_item(table.name, key, **options)
    elif op_type == "Update":
        backend.update_item(table.name, key, update_expression=op["UpdateExpression"], **options)


def _stream_length(table: Any) -> int | None:
    return len(table.stream_shard.items) if table.stream_shard is not None else None


def _restore(backend: Any, touched: list[tuple[Any, dict[str, Any], Any]], streams: Any) -> None:
    """The touched items as they were, and each stream without the records added since."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    for table, key, before in touched:
        hash_value = key[table.hash_key_attr]
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        hashed = DynamoType(hash_value)
        ranged = DynamoType(range_value) if range_value is not None else None
        if before is None:
            if ranged is not None:
                table.items[hashed].pop(ranged, None)
            else:
                table.items.pop(hashed, None)
        elif ranged is not None:
            table.items[hashed][ranged] = before
        else:
            table.items[hashed] = before
    for table, length in streams:
        if length is not None:
            del table.stream_shard.items[length:]
