"""Create, in the emulation, the resources the CDK stack would create —
from the same declaration (`infra.wiring`)."""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from infra import wiring

TABLE_NAME = "invoicing-local"


def create_table(dynamodb: Any, name: str = TABLE_NAME) -> str:
    spec = wiring.TABLE
    keys = {spec.partition_key, spec.sort_key}
    for index in spec.indexes:
        keys |= {index.partition_key, index.sort_key}
    existing = dynamodb.list_tables()["TableNames"]
    if name in existing:
        return name
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in sorted(keys)],
        KeySchema=[
            {"AttributeName": spec.partition_key, "KeyType": "HASH"},
            {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},  # the pipe's source
        GlobalSecondaryIndexes=[
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ],
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
    )
    return name


def table_stream_arn(dynamodb: Any, name: str = TABLE_NAME) -> str:
    return str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])


BUCKET_NAME = "invoicing-local-documents"


def create_bucket(s3: Any, name: str = BUCKET_NAME) -> str:
    """The documents bucket: private, versioned, with Object Lock, as the stack makes it."""
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        region = s3.meta.region_name
        options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True, **options)  # issued PDFs locked 10 years
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return name


STRIPE_SECRET_NAME = "invoicing/stripe"


def create_stripe_secret(secretsmanager: Any, name: str = STRIPE_SECRET_NAME) -> str:
    """The secret the stack creates, with local values: the webhook signing
    secret from STRIPE_WEBHOOK_SECRET (default whsec_local_dev, SPEC §8, so
    `stripe listen --forward-to` can be given it) and the API key from
    STRIPE_SECRET_KEY (a test key when Stripe is reached, else a placeholder)."""
    value = {
        "secret_key": os.environ.get("STRIPE_SECRET_KEY", "sk_test_local"),
        "webhook_secret": os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local_dev"),
    }
    secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
    return name


PAY_LINK_SECRET_NAME = "invoicing/pay-links"


def create_pay_link_secret(secretsmanager: Any, name: str = PAY_LINK_SECRET_NAME) -> str:
    """The key payment links are derived from: random, as the stack generates
    it (the emulation's data lives as long as the process, and so do links)."""
    secretsmanager.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
    return name
