"""The single DynamoDB table, shaped by `wiring.TABLE`, and the documents bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import wiring

# Attachment uploads not confirmed yet live under this prefix; what is still
# there after a day was abandoned.
PENDING_PREFIX = "pending/"
PENDING_TTL = Duration.days(1)
# Attachments removed from drafts (or with their deleted draft): the delete
# leaves a noncurrent version, kept this long for a mistaken delete, then gone.
ATTACHMENTS_PREFIX = "attachments/"
DELETED_ATTACHMENT_TTL = Duration.days(30)
# The render state of a large PDF's version (logic/documents.py): queued,
# started, failed. Its longest meaning is a failure held an hour; a day later
# it is only clutter.
RENDERS_PREFIX = "renders/"
RENDER_STATE_TTL = Duration.days(1)
INCOMPLETE_UPLOAD_TTL = Duration.days(1)
# Exports and statements (SPEC §14): copies of what the table holds, made on demand and fetched
# within minutes through their link; a week later they are only personal data kept for nothing.
EXPORTS_PREFIX = "exports/"
EXPORT_TTL = Duration.days(7)
# Server access logs name the caller's IP (a customer downloading a PDF):
# kept as long as the API's access logs, then deleted.
ACCESS_LOG_TTL = Duration.days(365)
# The log delivery service writes through a bucket policy (scoped to the
# source bucket and account) instead of the LogDeliveryWrite ACL, which
# would need ACLs enabled on the log bucket.
ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """Invoices, customers, products, counters and idempotency records (the
    table); rendered PDFs and attachments (the documents bucket).

    The table is encrypted with the AWS managed key (`alias/aws/dynamodb`):
    data is encrypted with KMS and every use of the key shows in CloudTrail,
    with no key policy to maintain and no monthly key fee. Switch to
    `TableEncryption.CUSTOMER_MANAGED` when someone needs to revoke the key
    or share the table across accounts; nothing else here would change.

    The buckets use S3-managed keys (SSE-S3, AES-256). Invoices are kept ten
    years (French law): a customer managed key disabled or scheduled for
    deletion in that time would make every invoice unreadable, and SSE-KMS
    would add a KMS call (and kms:Decrypt on every signing role) to each
    pre-signed download for no access control IAM and the bucket policy do
    not already give. S3 server access logging also only delivers to SSE-S3
    buckets. Revisit with a customer managed key if the documents must be
    revocable or shared across accounts.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: wiring.TableSpec = wiring.TABLE,
        upload_origins: list[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Before any child: feature flags are read from the construct tree.
        self.node.set_context(ACCESS_LOGS_USE_BUCKET_POLICY, True)
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
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,  # the pipe's source (wiring.PIPE)
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
        self.access_logs_bucket = self._access_logs_bucket()
        self.documents_bucket = self._documents_bucket(self.access_logs_bucket, upload_origins or [])

    def _documents_bucket(self, access_logs: s3.IBucket, upload_origins: list[str]) -> s3.Bucket:
        """Keys: `{tenant}/invoices/{invoice id}/v{version}.pdf` (one object per
        invoice version), `{tenant}/credit-notes/{credit note id}.pdf`,
        `{tenant}/invoices/{invoice id}/attachments/{id}` and `pending/...`
        (unconfirmed uploads). The frontend's origins may POST uploads (with
        the form the API signs) and GET what links point at."""
        return s3.Bucket(
            self,
            "DocumentsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # An overwrite or a DeleteObject keeps the previous version: no
            # role here may delete a version (s3:DeleteObjectVersion).
            versioned=True,
            # Object Lock, with no default retention: each issued invoice and
            # credit note is locked by its writer (GOVERNANCE, ten years from its
            # fiscal year's end; functions.py lets it). A bucket default would
            # lock every version written here for ten years: drafts' previews,
            # render states, unconfirmed and refused uploads, deleted drafts'
            # attachments, which the lifecycle rules below could then no longer
            # expire (kept, billed and holding personal data for a decade); and S3
            # would refuse every upload without a checksum (Content-MD5 or
            # x-amz-checksum-*), which the browsers' upload form does not send.
            # Object Lock can only be turned on when the bucket is made.
            object_lock_enabled=True,
            # Invoices are legal documents (ten years in France): no expiration
            # outside pending/, renders/ and exports/, and the bucket outlives the stack.
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="documents/",
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET],
                    allowed_origins=upload_origins,
                    allowed_headers=["*"],
                    max_age=600,
                )
            ]
            if upload_origins
            else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOAD_TTL,
                    # Delete markers left alone once their last version expired
                    # (only pending/ objects ever expire).
                    expired_object_delete_marker=True,
                ),
                s3.LifecycleRule(
                    id="ExpireUnconfirmedUploads",
                    prefix=PENDING_PREFIX,
                    expiration=PENDING_TTL,
                    # Versioned: expiring only adds a delete marker; this
                    # removes the upload itself a day later.
                    noncurrent_version_expiration=PENDING_TTL,
                ),
                s3.LifecycleRule(
                    id="ExpireRenderStates",
                    prefix=RENDERS_PREFIX,
                    expiration=RENDER_STATE_TTL,
                    noncurrent_version_expiration=RENDER_STATE_TTL,
                ),
                s3.LifecycleRule(
                    id="ExpireExports",
                    prefix=EXPORTS_PREFIX,
                    expiration=EXPORT_TTL,
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="ExpireDeletedAttachments",
                    prefix=ATTACHMENTS_PREFIX,
                    # Only what a delete made noncurrent: a listed file never expires.
                    noncurrent_version_expiration=DELETED_ATTACHMENT_TTL,
                ),
            ],
        )

    def _access_logs_bucket(self) -> s3.Bucket:
        """Server access logs of the documents bucket. Not logged itself (that
        would log each delivery): cdk-nag's S1 accepts a log destination as is."""
        return s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption log delivery supports
            enforce_ssl=True,
            minimum_tls_version=1.2,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=ACCESS_LOG_TTL,
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOAD_TTL,
                )
            ],
        )
