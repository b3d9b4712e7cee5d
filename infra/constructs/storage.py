"""The single DynamoDB table, shaped by `wiring.TABLE`."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import wiring


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """Invoices, customers, products, counters and idempotency records.

    Encryption uses the AWS managed key (`alias/aws/dynamodb`): data is
    encrypted with KMS and every use of the key shows in CloudTrail, with no
    key policy to maintain and no monthly key fee. Switch to
    `TableEncryption.CUSTOMER_MANAGED` when someone needs to revoke the key
    or share the table across accounts; nothing else here would change.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: wiring.TableSpec = wiring.TABLE) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string_key(spec.partition_key),
            sort_key=_string_key(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string_key(index.partition_key),
                sort_key=_string_key(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )
