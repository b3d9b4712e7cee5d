"""The emulation's index queries (infra/local/gsi_queries.py) answer as
DynamoDB does, whatever was written between two of them: a put, an update
moving an item to another partition, a delete, a transaction, a batch;
pages and start keys as before; and the pages after the first no longer
walk the table."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from infra.local import gsi_queries

pytestmark = pytest.mark.integration

gsi_queries.install()
TABLE = "t"


def _table():
    dynamodb = boto3.client("dynamodb", region_name="eu-west-3")
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gpk", "gsk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"},
                                               {"AttributeName": "gsk", "KeyType": "RANGE"}]}],
    )  # fmt: skip
    return dynamodb


def _put(dynamodb, n: int, partition: str = "A") -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{n}"}, "sk": {"S": "x"}, "gpk": {"S": partition},
                                             "gsk": {"S": f"{n:03d}"}})  # fmt: skip


def _partition(dynamodb, partition: str = "A", limit: int = 2) -> list[str]:
    """Every item of the index's partition, page by page."""
    found, start = [], None
    while True:
        request = {"TableName": TABLE, "IndexName": "by_g", "KeyConditionExpression": "gpk = :p",
                   "ExpressionAttributeValues": {":p": {"S": partition}}, "Limit": limit}  # fmt: skip
        if start:
            request["ExclusiveStartKey"] = start
        page = dynamodb.query(**request)
        found += [item["gsk"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return found
        start = page["LastEvaluatedKey"]


@mock_aws
def test_every_write_between_two_queries_is_seen() -> None:
    dynamodb = _table()
    for n in range(5):
        _put(dynamodb, n)
    _put(dynamodb, 9, "B")
    assert _partition(dynamodb) == ["000", "001", "002", "003", "004"]

    _put(dynamodb, 5)  # a put
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "p0"}, "sk": {"S": "x"}},  # moved to B
                         UpdateExpression="SET gpk = :b", ExpressionAttributeValues={":b": {"S": "B"}})  # fmt: skip
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "p1"}, "sk": {"S": "x"}})
    assert _partition(dynamodb) == ["002", "003", "004", "005"]
    assert _partition(dynamodb, "B") == ["000", "009"]

    dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": {
        "pk": {"S": "p6"}, "sk": {"S": "x"}, "gpk": {"S": "A"}, "gsk": {"S": "006"}}}}])  # fmt: skip
    dynamodb.batch_write_item(RequestItems={TABLE: [{"DeleteRequest": {"Key": {"pk": {"S": "p2"}, "sk": {"S": "x"}}}}]})
    assert _partition(dynamodb) == ["003", "004", "005", "006"]
    assert _partition(dynamodb, limit=100) == ["003", "004", "005", "006"]


@mock_aws
def test_the_pages_after_the_first_read_the_partition_not_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    dynamodb = _table()
    for n in range(30):
        _put(dynamodb, n, "A" if n % 3 else "B")
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "no-index"}, "sk": {"S": "x"}})  # in no partition
    walks = []
    every = Table.__dict__["all_items"]
    counted = gsi_queries._in
    monkeypatch.setattr(gsi_queries, "_in", lambda item, conditions: walks.append(1) or counted(item, conditions))

    assert len(_partition(dynamodb, limit=2)) == 20  # 10 pages
    assert len(walks) == 31  # the table walked once, for the first page
    assert every is Table.all_items
