"""The emulation's TransactWriteItems (infra/local/transactions.py) gives
moto's answers without copying the table: the same items written, the
same stream records, the same cancellation reasons, nothing written when
a transaction is cancelled — each case run through both, on fresh tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import transactions
from infra.local.resources import TABLE_NAME, create_table
from tests.conftest import pause_the_runtime

pytestmark = pytest.mark.integration

transactions.install()


@pytest.fixture(autouse=True)
def moto_of_its_own() -> None:
    """Each case starts moto afresh in this process, as the `aws` fixture does."""
    pause_the_runtime()


def s(value: str) -> dict[str, str]:
    return {"S": value}


def put(sk: str, condition: str | None = None, **attributes: Any) -> dict[str, Any]:
    item = {"pk": s("T#acme"), "sk": s(sk), **attributes}
    return {"Put": {"TableName": TABLE_NAME, "Item": item, **({"ConditionExpression": condition} if condition else {})}}


def add_one(sk: str, attribute: str = "last") -> dict[str, Any]:
    key = {"pk": s("T#acme"), "sk": s(sk)}
    return {"Update": {"TableName": TABLE_NAME, "Key": key, "UpdateExpression": "ADD #a :one",
                       "ExpressionAttributeNames": {"#a": attribute},
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}  # fmt: skip


EXISTING = [put("INV#1", status=s("draft")), put("SEQ#invoice", last={"N": "4"}), put("NAME#x", label=s("text"))]
CASES = {
    "writes that all apply": [put("INV#2", "attribute_not_exists(pk)"), add_one("SEQ#invoice"),
                              {"Delete": {"TableName": TABLE_NAME, "Key": {"pk": s("T#acme"), "sk": s("NAME#x")}}}],
    "a condition that fails": [put("INV#3"), put("INV#1", "attribute_not_exists(pk)"), add_one("SEQ#invoice")],
    "a failed condition asking for the old item": [
        put("INV#4"), {**put("INV#1", "attribute_not_exists(pk)"), "Put": {**put("INV#1", "attribute_not_exists(pk)")[
            "Put"], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}],
    "a check on its own": [{"ConditionCheck": {"TableName": TABLE_NAME, "Key": {"pk": s("T#acme"), "sk": s("INV#1")},
                                               "ConditionExpression": "#s = :draft", "ExpressionAttributeNames":
                                               {"#s": "status"}, "ExpressionAttributeValues": {":draft": s("open")}}},
                           put("INV#5")],
    "a write moto refuses while applying it": [put("INV#6"), add_one("NAME#x", "label")],
    "the same item twice": [put("INV#7"), put("INV#7")],
    "a condition moto cannot parse": [put("INV#8"), put("INV#9", "attribute_not_exists(")],
}  # fmt: skip


def outcome(transact: Callable[[Any, list[dict[str, Any]]], None], case: list[dict[str, Any]]) -> dict[str, Any]:
    """What a transaction leaves: its error, the table's items, the stream's records."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3")
        create_table(client)
        for entry in EXISTING:
            client.put_item(**entry["Put"])
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends["123456789012"]["eu-west-3"]
        before = len(backend.tables[TABLE_NAME].stream_shard.items)
        try:
            transact(backend, case)
            error = None
        except Exception as refused:  # noqa: BLE001 - the answer itself is compared
            error = (type(refused).__name__, getattr(refused, "description", str(refused)))
        items = client.scan(TableName=TABLE_NAME)["Items"]
        stream = backend.tables[TABLE_NAME].stream_shard  # moto puts back a copy of the table, stream and all
        records = [(record.record["eventName"], record.record["dynamodb"].get("Keys"),
                    record.record["dynamodb"].get("NewImage")) for record in stream.items[before:]]  # fmt: skip
    return {"error": error, "items": sorted(items, key=lambda item: item["sk"]["S"]), "stream": records}


@pytest.mark.parametrize("case", CASES)
def test_the_emulation_answers_each_transaction_as_moto_does(case):
    from moto.dynamodb.models import DynamoDBBackend

    fast = DynamoDBBackend.transact_write_items
    ours = outcome(lambda backend, items: fast(backend, items), CASES[case])
    moto = outcome(lambda backend, items: fast.moto(backend, items), CASES[case])

    assert ours == moto


def test_a_cancelled_transaction_writes_nothing_to_the_table_or_its_stream():
    client_error = outcome(lambda backend, items: backend.transact_write_items(items), CASES["a condition that fails"])

    assert client_error["error"][0] == "TransactionCanceledException"
    assert '"Code": "ConditionalCheckFailed"' in client_error["error"][1]
    assert [item["sk"]["S"] for item in client_error["items"]] == ["INV#1", "NAME#x", "SEQ#invoice"]
    assert client_error["stream"] == []


def test_through_the_api_a_cancelled_transaction_names_the_condition_that_failed():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3")
        create_table(client)
        client.put_item(**EXISTING[0]["Put"])
        with pytest.raises(ClientError) as refused:
            client.transact_write_items(TransactItems=CASES["a condition that fails"])

    reasons = [reason["Code"] for reason in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
