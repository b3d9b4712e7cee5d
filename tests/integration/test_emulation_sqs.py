"""The emulation's SQS (infra/local/sqs_counts.py) answers as moto does:
the message counts GetQueueAttributes gives, a FIFO queue's deduplication,
the retention period, while sending and receiving no longer count the
queue's messages."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from infra.local import sqs_counts

pytestmark = pytest.mark.integration

sqs_counts.install()


@mock_aws
def test_the_counts_are_moto_s_when_asked():
    sqs = boto3.client("sqs", region_name="eu-west-3")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)

    every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    named = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=sorted(sqs_counts.COUNTS))["Attributes"]

    expected = {"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1",
                "ApproximateNumberOfMessagesDelayed": "1"}  # fmt: skip
    assert {name: every[name] for name in sqs_counts.COUNTS} == expected
    assert named == expected
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "60"
    }


@mock_aws
def test_a_fifo_queue_still_deduplicates_on_content_and_retention_still_holds():
    sqs = boto3.client("sqs", region_name="eu-west-3")
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName="q.fifo", Attributes=fifo)["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 1
    short = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=short, MessageBody="kept")
    assert len(sqs.receive_message(QueueUrl=short)["Messages"]) == 1
    # created again with the same attributes: the same queue, as moto answers
    assert sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"] == short
